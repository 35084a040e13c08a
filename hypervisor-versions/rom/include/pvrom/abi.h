// The pvmatrix hypervisor ROM ABI ("rom" family), modeled on VMI (Linux 2.6.21
// include/asm-i386/vmi.h). This header is the contract between three parties
// that are built separately and must never share code beyond it:
//   - the ROM images (hypervisor-versions/rom/, one binary per version),
//   - the reference kernel (kernel/), which discovers, validates and binds a ROM,
//   - host tools (harness/), which read ROM images statically (abi diff, tests).
// It is freestanding: no includes beyond <stdint.h>-style fixed-width types, no code
// except constexpr helpers, valid in C++20 both hosted and -ffreestanding -m32.
#pragma once

#include <stdint.h>

namespace pvrom {

// ---------------------------------------------------------------------------
// Delivery. The emulated hypervisor hands the ROM to the guest as the fw_cfg file
// kFwCfgName. The kernel reads it with fw_cfg DMA to kLoadAddress (the image is
// linked to run there), then validates the header before calling anything.
// ---------------------------------------------------------------------------
inline constexpr const char* kFwCfgName = "opt/pvmatrix/rom";
inline constexpr uint32_t kLoadAddress = 0x00400000;   ///< ROMs are linked to run at 4 MiB
inline constexpr uint32_t kMaxImageSize = 64 * 1024;   ///< rom_length <= 128 blocks

// ---------------------------------------------------------------------------
// Header, at offset 0 of the image. Little-endian, packed, 64 bytes.
// Validation (kernel and host tools do the same checks, in this order):
//   1. image size >= sizeof(RomHeader) and <= kMaxImageSize
//   2. rom_signature == 0xAA55, pvm_signature == kPvmSignature
//   3. rom_length * 512 == image size (images are padded to 512-byte blocks)
//   4. byte sum of the whole image == 0 (mod 256)  -- VMI never checked; we do
//   5. header_size == sizeof(RomHeader), load_address == kLoadAddress
//   6. init/get_reloc/call table offsets inside the image
//   7. api_major is one the kernel speaks (3, and 4 from release 2.6.24)
// Any failure: the kernel says why (a "hv" record with "refused") and boots native.
// ---------------------------------------------------------------------------
inline constexpr uint16_t kRomSignature = 0xAA55;
inline constexpr uint32_t kPvmSignature = 0x524D5650;  ///< "PVMR" in memory order

struct RomHeader {
  uint16_t rom_signature;      ///< 0xAA55, as an option ROM
  uint8_t rom_length;          ///< image size in 512-byte blocks
  uint8_t checksum_adjust;     ///< chosen so the byte sum of the image is 0 mod 256
  uint32_t pvm_signature;      ///< kPvmSignature
  uint8_t api_minor;           ///< API version minor (3.2 -> 2)
  uint8_t api_major;           ///< API version major (3.2 -> 3)
  uint16_t header_size;        ///< sizeof(RomHeader)
  uint32_t features;           ///< Feature bits, below
  uint32_t load_address;       ///< must equal kLoadAddress
  uint32_t init_offset;        ///< int32_t init(uint32_t kernel_api_major), bootstrap convention
  uint32_t get_reloc_offset;   ///< uint64_t get_reloc(uint32_t call), bootstrap convention
  uint32_t call_table_offset;  ///< CallEntry[call_count]: what get_reloc answers, for static readers
  uint32_t call_count;
  uint32_t calling_convention; ///< CallingConvention of every ROM call (not init/get_reloc)
  char version_name[24];       ///< NUL-padded, e.g. "rom-1.12" (24: the fields above take 40 bytes)
};
static_assert(sizeof(RomHeader) == 64, "RomHeader is 64 bytes");

/// One row of the static call table. get_reloc(number) must answer exactly this row.
struct CallEntry {
  uint16_t number;    ///< Call number (CallNumber)
  uint8_t reloc;      ///< RelocType
  uint8_t reserved;   ///< 0
  uint32_t offset;    ///< entry point, offset from image start (0 for NONE/NOP)
};
static_assert(sizeof(CallEntry) == 8, "CallEntry is 8 bytes");

// ---------------------------------------------------------------------------
// Bootstrap convention (never changes across API majors, like VMI's):
// init and get_reloc are cdecl (arguments on the stack, caller cleans up),
// result in eax (edx:eax for 64-bit). Both may be called with interrupts off.
//
//   int32_t  init(uint32_t kernel_api_major);   // 0 ok, <0 refused (e.g. major it does not serve)
//   uint64_t get_reloc(uint32_t call);           // low 32 bits RelocType, high 32 bits absolute address
//
// init must be called once, before get_reloc. init sets up the ROM's own state
// (LAPIC for alarms, counter calibration).
// ---------------------------------------------------------------------------
enum RelocType : uint8_t {
  kRelocNone = 0,     ///< not offered: keep the native implementation
  kRelocCallRel = 1,  ///< call the address (it returns)
  kRelocJumpRel = 2,  ///< jump to the address (it does not return; used for IRET)
  kRelocNop = 3,      ///< offered as a no-op: the kernel replaces the op with nothing
};

/// Calling convention of ROM calls. Versioned: API 3.x uses kConvRegparm3, API 4.x kConvCdecl.
enum CallingConvention : uint32_t {
  kConvRegparm3 = 1,  ///< gcc regparm(3): args in eax, edx, ecx, rest on stack; a uint64_t arg takes a pair
  kConvCdecl = 2,     ///< all args on the stack, caller cleans up
};

// ---------------------------------------------------------------------------
// Call numbers. VMI's numbering where the call exists in VMI; ours above 73.
// Signatures are the C prototypes in the version's calling convention.
// ---------------------------------------------------------------------------
enum CallNumber : uint16_t {
  kCallCpuid = 0,              ///< void (uint32_t leaf, uint32_t regs_out[4])  eax,ebx,ecx,edx
  kCallSetCR3 = 17,            ///< void (uint32_t cr3)  -- also flushes the non-global TLB
  kCallGetCR3 = 21,            ///< uint32_t ()
  kCallEnableInterrupts = 29,  ///< void ()  -- sti
  kCallDisableInterrupts = 30, ///< void ()  -- cli
  kCallGetInterruptMask = 31,  ///< uint32_t ()  -- eflags (IF is bit 9)
  kCallSetInterruptMask = 32,  ///< void (uint32_t eflags)  -- restores IF only
  kCallIret = 33,              ///< JUMP_REL: jumped to with the iret frame on top of the stack.
                               ///< CALL_REL (rom-1.12 on): called, so the return address sits above the frame;
                               ///< the ROM discards it and irets. A kernel must honor the reloc type.
  kCallHalt = 35,              ///< void ()  -- hlt with IF as the caller left it
  kCallShutdown = 37,          ///< [[noreturn]] void (uint32_t code)  -- isa-debug-exit (port 0xf4) with code
  kCallSetPxE = 38,            ///< void (uint32_t* pte, uint32_t value)  -- write a PTE/PDE; deferred in lazy MMU mode on versions with kFeatureLazyDefers
  kCallInvalPage = 46,         ///< void (uint32_t linear_address)  -- invlpg
  kCallFlushTLB = 47,          ///< void ()  -- applies pending lazy PxE updates, then reloads CR3
  kCallGetCycleFrequency = 66, ///< uint64_t ()  -- Hz of the REAL cycle counter
  kCallGetCycleCounter = 67,   ///< API 3: uint64_t ()  -- REAL cycle counter (rdtsc based)
                               ///< API 4: REUSED with a new meaning: uint64_t () nanoseconds since ROM init
  kCallSetAlarm = 68,          ///< int32_t (uint32_t flags, uint64_t expiry, uint64_t period)
                               ///<   expiry: absolute REAL counter value; period: cycles (0 for one-shot)
                               ///<   returns 0, or kErrUnsupported when the version cannot do what flags ask
                               ///<   The alarm interrupt arrives on kAlarmVector (local APIC timer);
                               ///<   the kernel's handler must write the local APIC EOI register.
  kCallCancelAlarm = 69,       ///< int32_t ()
  kCallGetWallclockTime = 70,  ///< uint64_t ()  -- nanoseconds since the Unix epoch (from the CMOS RTC)
  kCallSetLazyMode = 73,       ///< void (uint32_t mode)  -- LazyMode below
  // ---- pvmatrix's own calls, above VMI's range ----
  kCallSafeHalt = 74,          ///< void ()  -- sti; hlt, atomically (woken by the next interrupt)
  kCallGetFeatures = 75,       ///< uint32_t ()  -- feature bits; from API 4 MANDATORY before any other call
  kCallGetCycleCounter4 = 76,  ///< API 4: uint64_t ()  -- the REAL cycle counter's new home
};

inline constexpr uint32_t kAlarmVector = 0xEF;        ///< as Linux's LOCAL_TIMER_VECTOR
inline constexpr uint32_t kLapicBase = 0xFEE00000;    ///< default local APIC MMIO base
inline constexpr int32_t kErrUnsupported = -38;       ///< -ENOSYS
inline constexpr int32_t kErrNotNegotiated = -1;      ///< API 4: call made before GetFeatures

enum AlarmFlags : uint32_t {
  kAlarmOneShot = 0x0,    ///< fire once at expiry
  kAlarmPeriodic = 0x100, ///< fire at expiry, then every period cycles
  kCyclesReal = 0x0,      ///< expiry/period count the REAL counter (the only counter offered)
};

enum LazyMode : uint32_t {
  kLazyNone = 0,  ///< leave lazy mode: pending updates are applied
  kLazyMmu = 2,   ///< batch SetPxE until FlushTLB or leaving lazy mode (if kFeatureLazyDefers)
};

// ---------------------------------------------------------------------------
// Feature bits (RomHeader::features and GetFeatures).
// ---------------------------------------------------------------------------
enum Feature : uint32_t {
  kFeatureTimer = 1u << 0,          ///< cycle counter, frequency, alarms
  kFeaturePeriodicAlarm = 1u << 1,  ///< SetAlarm accepts kAlarmPeriodic
  kFeatureOneShotAlarm = 1u << 2,   ///< SetAlarm accepts one-shot on the REAL counter
  kFeatureMmu = 1u << 3,            ///< SetPxE, InvalPage, FlushTLB
  kFeatureLazyMmu = 1u << 4,        ///< SetLazyMode offered
  kFeatureLazyDefers = 1u << 5,     ///< lazy MMU mode really defers SetPxE until flush
  kFeatureGetFeatures = 1u << 6,    ///< GetFeatures offered
  kFeatureWallclock = 1u << 7,      ///< GetWallclockTime offered
};

/// Names of feature bits as they appear in version.json and "hv" records.
struct FeatureName { Feature bit; const char* name; };
inline constexpr FeatureName kFeatureNames[] = {
    {kFeatureTimer, "timer"},           {kFeaturePeriodicAlarm, "periodic_alarm"},
    {kFeatureOneShotAlarm, "oneshot_alarm"}, {kFeatureMmu, "mmu"},
    {kFeatureLazyMmu, "lazy_mmu"},      {kFeatureLazyDefers, "lazy_defers"},
    {kFeatureGetFeatures, "get_features"}, {kFeatureWallclock, "wallclock"},
};

/// Exit codes the guest writes to isa-debug-exit (QEMU exits with (code << 1) | 1).
enum ExitCode : uint32_t {
  kExitPass = 0,    ///< "done" with fail == 0
  kExitFail = 1,    ///< "done" with fail > 0
  kExitCrash = 2,   ///< "crash" or "panic" record printed
};
inline constexpr uint16_t kDebugExitPort = 0xF4;

}  // namespace pvrom
