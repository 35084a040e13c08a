// The image layout: the RomHeader at offset 0, then the call table, both written in
// assembly so that entry points become link-time offsets from the load address.
// rom_length and checksum_adjust are left 0 here: romfix pads the image and fills them.
#include <stddef.h>

#include "rom.h"

#define PVROM_STR2(x) #x
#define PVROM_STR(x) PVROM_STR2(x)
#define PVROM_LOAD_ADDRESS 0x400000

static_assert(pvrom::kLoadAddress == PVROM_LOAD_ADDRESS);
static_assert(pvrom::kRomSignature == 0xAA55 && pvrom::kPvmSignature == 0x524D5650);
static_assert(offsetof(pvrom::RomHeader, pvm_signature) == 4);
static_assert(offsetof(pvrom::RomHeader, api_minor) == 8);
static_assert(offsetof(pvrom::RomHeader, header_size) == 10);
static_assert(offsetof(pvrom::RomHeader, features) == 12);
static_assert(offsetof(pvrom::RomHeader, load_address) == 16);
static_assert(offsetof(pvrom::RomHeader, init_offset) == 20);
static_assert(offsetof(pvrom::RomHeader, get_reloc_offset) == 24);
static_assert(offsetof(pvrom::RomHeader, call_table_offset) == 28);
static_assert(offsetof(pvrom::RomHeader, call_count) == 32);
static_assert(offsetof(pvrom::RomHeader, calling_convention) == 36);
static_assert(offsetof(pvrom::RomHeader, version_name) == 40);
static_assert(sizeof(pvrom::RomHeader) == 64 && sizeof(pvrom::CallEntry) == 8);
static_assert(sizeof(PVROM_NAME) <= sizeof(pvrom::RomHeader::version_name));

asm(".section .rom_header, \"a\"\n"
    ".globl rom_header\n"
    "rom_header:\n"
    "  .word 0xAA55\n"                                  // rom_signature
    "  .byte 0\n"                                       // rom_length (romfix)
    "  .byte 0\n"                                       // checksum_adjust (romfix)
    "  .long 0x524D5650\n"                              // pvm_signature
    "  .byte " PVROM_STR(PVROM_API_MINOR) "\n"
    "  .byte " PVROM_STR(PVROM_API_MAJOR) "\n"
    "  .word 64\n"                                      // header_size
    "  .long " PVROM_STR(PVROM_FEATURES) "\n"
    "  .long " PVROM_STR(PVROM_LOAD_ADDRESS) "\n"
    "  .long rom_init - " PVROM_STR(PVROM_LOAD_ADDRESS) "\n"
    "  .long rom_get_reloc - " PVROM_STR(PVROM_LOAD_ADDRESS) "\n"
    "  .long rom_call_table - rom_header\n"
    "  .long (rom_call_table_end - rom_call_table) / 8\n"
    "  .long " PVROM_STR(PVROM_CONVENTION) "\n"
    "1:\n"
    "  .ascii \"" PVROM_NAME "\"\n"
    "  .fill 24 - (. - 1b), 1, 0\n"                     // version_name, NUL-padded
    "  .balign 8\n"
    ".globl rom_call_table\n"
    "rom_call_table:\n"                                 // CallEntry {u16 number, u8 reloc, u8 0, u32 offset}
    PVROM_CALL_TABLE_ASM
    "rom_call_table_end:\n"
    ".previous\n");
