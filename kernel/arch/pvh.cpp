// The PVH entry point (Xen's "direct boot" of a 32-bit kernel, docs: xen/include/public/
// arch-x86/hvm/start_info.h): the Xen ELF notes tell Xen's loader where to enter, and the entry
// hands kernel_main the start_info magic and pointer in place of multiboot's. State at entry:
// 32-bit protected mode, paging off, interrupts off, ebx = physical address of hvm_start_info.
// Multiboot loaders (QEMU -kernel) never look at these notes, so one image boots both ways.

// Xen ELF note types (xen/include/public/elfnote.h).
#define PVM_XEN_NOTE(type, desc_directive) \
  ".align 4\n .long 4f - 3f\n .long 6f - 5f\n .long " #type "\n3: .asciz \"Xen\"\n4: .align 4\n5: " desc_directive "\n6: .align 4\n"

asm(".pushsection .note.Xen, \"a\", @note\n"
    PVM_XEN_NOTE(6, ".asciz \"pvmatrix\"")     // XEN_ELFNOTE_GUEST_OS
    PVM_XEN_NOTE(5, ".asciz \"xen-3.0\"")      // XEN_ELFNOTE_XEN_VERSION
    PVM_XEN_NOTE(8, ".asciz \"generic\"")      // XEN_ELFNOTE_LOADER
    PVM_XEN_NOTE(18, ".long _start_pvh")       // XEN_ELFNOTE_PHYS32_ENTRY
    ".popsection\n");

asm(R"(
    .text
    .global _start_pvh
    .type _start_pvh, @function
_start_pvh:
    mov $pvh_stack_top, %esp
    xor %ebp, %ebp
    pushl $0                         # EFLAGS: interrupts off, DF clear
    popfl
    pushl %ebx                       # hvm_start_info
    pushl $0x336ec578                # XEN_HVM_START_MAGIC_VALUE, in place of multiboot's magic
    call kernel_main
1:  cli
    hlt
    jmp 1b

    .section .bss
    .align 16
pvh_stack:
    .skip 32768
pvh_stack_top:
)");
