// Multiboot v1 header, the entry point and the interrupt entry stubs.
// Every interrupt returns through interrupt_return, which is the kernel's IRET path: it ends in
// a jump or call through pv_iret_target, so binding the ROM's IRET (call 33) changes how every
// interrupt returns (see pv/pvops.h).

asm(R"(
    .section .multiboot, "a"
    .align 4
    .long 0x1BADB002                 # magic
    .long 0x00000003                 # flags: page-align modules, give memory info
    .long -(0x1BADB002 + 0x00000003) # checksum

    .section .bss
    .align 16
boot_stack:
    .skip 32768
boot_stack_top:

    .text
    .global _start
    .type _start, @function
_start:
    mov $boot_stack_top, %esp
    xor %ebp, %ebp
    pushl $0                         # EFLAGS: interrupts off, DF clear
    popfl
    pushl %ebx                       # multiboot info
    pushl %eax                       # multiboot magic
    call kernel_main
1:  cli
    hlt
    jmp 1b

    # 256 stubs, 16 bytes apart: isr_stubs + 16 * vector. Vectors where the CPU pushes an
    # error code skip the dummy push, so every frame has the same layout (arch/cpu.h Frame).
    .align 16
    .global isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .align 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushl $0
    .endif
    pushl $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    pushal
    cld
    pushl %esp                       # Frame*
    call interrupt_dispatch
    addl $4, %esp
    popal
    addl $8, %esp                    # vector, error code
    .global interrupt_return
interrupt_return:
    # The iret frame is on top of the stack. Flags may be clobbered here: iret reloads them.
    cmpb $0, pv_iret_by_call
    jne 1f
    jmp *pv_iret_target              # native_iret, or the ROM's IRET bound JUMP_REL
1:  call *pv_iret_target             # the ROM's IRET bound CALL_REL: it drops the return address
    ud2                              # never reached: IRET does not return

    .global native_iret
native_iret:
    iret
)");
