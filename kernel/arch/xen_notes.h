// The Xen ELF notes that make an image bootable by Xen as a PVH guest: XEN_ELFNOTE_PHYS32_ENTRY
// points Xen's loader at _start_pvh (arch/pvh.cpp). Included once per image by profile.cpp when
// the release has the Xen backend (PVM_XEN_BACKEND); an image without them is, to Xen, a kernel
// with no Xen support at all, and Xen refuses to build a dom0 from it.
#pragma once

// Xen ELF note types (xen/include/public/elfnote.h).
#define PVM_XEN_NOTE(type, desc_directive) \
  ".align 4\n .long 4f - 3f\n .long 6f - 5f\n .long " #type "\n3: .asciz \"Xen\"\n4: .align 4\n5: " desc_directive "\n6: .align 4\n"

asm(".pushsection .note.Xen, \"a\", @note\n"
    PVM_XEN_NOTE(6, ".asciz \"pvmatrix\"")     // XEN_ELFNOTE_GUEST_OS
    PVM_XEN_NOTE(5, ".asciz \"xen-3.0\"")      // XEN_ELFNOTE_XEN_VERSION
    PVM_XEN_NOTE(8, ".asciz \"generic\"")      // XEN_ELFNOTE_LOADER
    PVM_XEN_NOTE(18, ".long _start_pvh")       // XEN_ELFNOTE_PHYS32_ENTRY
    ".popsection\n");
