// The PVH entry point (Xen's "direct boot" of a 32-bit kernel, docs: xen/include/public/
// arch-x86/hvm/start_info.h): the Xen ELF notes (arch/xen_notes.h, only in the images of
// releases with the Xen backend) tell Xen's loader where to enter, and the entry
// hands kernel_main the start_info magic and pointer in place of multiboot's. State at entry:
// 32-bit protected mode, paging off, interrupts off, ebx = physical address of hvm_start_info.
// Multiboot loaders (QEMU -kernel) never look at these notes, so one image boots both ways.

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
