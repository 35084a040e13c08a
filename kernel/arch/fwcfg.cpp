#include "arch/fwcfg.h"

#include "arch/x86.h"
#include "lib/string.h"

namespace fwcfg {
namespace {

constexpr uint16_t kSelectorPort = 0x510, kDataPort = 0x511, kDmaHighPort = 0x514, kDmaLowPort = 0x518;
constexpr uint16_t kSignature = 0x00, kFeatures = 0x01, kFileDir = 0x19;
constexpr uint32_t kFeatureDma = 1u << 1;
constexpr uint32_t kDmaError = 0x01, kDmaRead = 0x02, kDmaSelect = 0x08;
constexpr size_t kFileNameLength = 56;

/// FWCfgDmaAccess: big-endian, the device writes control back (0 = done, bit 0 = error).
struct [[gnu::packed]] DmaAccess {
  uint32_t control;
  uint32_t length;
  uint64_t address;
};

void select(uint16_t item) { x86::outw(kSelectorPort, item); }

void read_bytes(void* dst, uint32_t n) {
  auto* d = static_cast<uint8_t*>(dst);
  for (uint32_t i = 0; i < n; ++i) d[i] = x86::inb(kDataPort);
}

uint32_t be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }

}  // namespace

bool present() {
  char sig[4];
  select(kSignature);
  read_bytes(sig, 4);
  return memcmp(sig, "QEMU", 4) == 0;
}

bool has_dma() {
  uint8_t f[4];
  select(kFeatures);
  read_bytes(f, 4);
  uint32_t features = f[0] | (uint32_t(f[1]) << 8) | (uint32_t(f[2]) << 16) | (uint32_t(f[3]) << 24);
  return features & kFeatureDma;
}

bool find(const char* name, File* out) {
  uint8_t count_be[4];
  select(kFileDir);
  read_bytes(count_be, 4);
  uint32_t count = be32(count_be);
  for (uint32_t i = 0; i < count; ++i) {
    struct [[gnu::packed]] {
      uint8_t size[4];
      uint8_t select[2];
      uint8_t reserved[2];
      char name[kFileNameLength];
    } entry;
    read_bytes(&entry, sizeof entry);
    entry.name[kFileNameLength - 1] = '\0';
    if (str_eq(entry.name, name)) {
      out->size = be32(entry.size);
      out->select = static_cast<uint16_t>((entry.select[0] << 8) | entry.select[1]);
      return true;
    }
  }
  return false;
}

bool read_dma(uint16_t item, void* dst, uint32_t size) {
  alignas(16) static volatile DmaAccess access;
  access.control = x86::bswap32((uint32_t(item) << 16) | kDmaSelect | kDmaRead);
  access.length = x86::bswap32(size);
  access.address = static_cast<uint64_t>(x86::bswap32(reinterpret_cast<uint32_t>(dst))) << 32;  // big-endian 64-bit
  uint32_t addr = reinterpret_cast<uint32_t>(&access);
  asm volatile("" ::: "memory");
  x86::outl(kDmaHighPort, 0);                    // high 32 bits of the descriptor address
  x86::outl(kDmaLowPort, x86::bswap32(addr));    // low 32 bits; this write starts the transfer
  uint32_t control;
  for (int spins = 0; spins < 10000000; ++spins) {
    control = x86::bswap32(access.control);
    if ((control & ~kDmaError) == 0) break;
    x86::pause();
  }
  return (control & ~kDmaError) == 0 && !(control & kDmaError);
}

void read_pio(uint16_t item, void* dst, uint32_t size) {
  select(item);
  read_bytes(dst, size);
}

}  // namespace fwcfg
