// 70: GetWallclockTime from the CMOS real-time clock (ports 0x70/0x71).
#include "arch.h"
#include "rom.h"

using rom::require_negotiated;
namespace arch = rom::arch;

namespace {

constexpr uint16_t kCmosIndex = 0x70, kCmosData = 0x71;
enum CmosReg : uint8_t {
  kSeconds = 0x00, kMinutes = 0x02, kHours = 0x04, kDay = 0x07, kMonth = 0x08, kYear = 0x09,
  kStatusA = 0x0A, kStatusB = 0x0B, kCentury = 0x32,
};
constexpr uint8_t kUpdateInProgress = 0x80;  // status A
constexpr uint8_t kBinaryMode = 0x04;        // status B
constexpr uint8_t k24Hour = 0x02;            // status B
constexpr uint8_t kPmBit = 0x80;             // hours, 12-hour mode

uint8_t cmos(uint8_t reg) {
  arch::outb(kCmosIndex, reg);
  return arch::inb(kCmosData);
}

struct RtcTime {
  uint8_t sec, min, hour, day, month, year, century;
  bool operator==(const RtcTime&) const = default;
};

RtcTime read_raw() {
  uint32_t spins = 0;
  while ((cmos(kStatusA) & kUpdateInProgress) && ++spins < 1000000) arch::pause();
  return RtcTime{cmos(kSeconds), cmos(kMinutes), cmos(kHours), cmos(kDay),
                 cmos(kMonth),   cmos(kYear),    cmos(kCentury)};
}

uint32_t bcd(uint8_t v) { return (v & 0x0F) + (v >> 4) * 10; }

/// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil).
int32_t days_from_civil(int32_t y, uint32_t m, uint32_t d) {
  y -= m <= 2;
  const int32_t era = (y >= 0 ? y : y - 399) / 400;
  const uint32_t yoe = static_cast<uint32_t>(y - era * 400);
  const uint32_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int32_t>(doe) - 719468;
}

}  // namespace

/// 70: uint64_t GetWallclockTime()  -- ns since the Unix epoch, second resolution
extern "C" ROMCALL uint64_t rom_get_wallclock_time() {
  require_negotiated();
  // Read until two consecutive reads agree, so no update slips between registers.
  RtcTime t = read_raw();
  for (int i = 0; i < 8; ++i) {
    RtcTime again = read_raw();
    if (again == t) break;
    t = again;
  }
  const uint8_t status_b = cmos(kStatusB);
  const bool pm = !(status_b & k24Hour) && (t.hour & kPmBit);
  uint8_t hour_raw = static_cast<uint8_t>(t.hour & ~kPmBit);
  auto conv = [&](uint8_t v) { return (status_b & kBinaryMode) ? uint32_t{v} : bcd(v); };
  uint32_t hour = conv(hour_raw);
  if (!(status_b & k24Hour)) hour = (hour % 12) + (pm ? 12 : 0);
  uint32_t century = conv(t.century);
  if (century < 19 || century > 99) century = 20;
  const int32_t year = static_cast<int32_t>(century * 100 + conv(t.year));
  const int64_t days = days_from_civil(year, conv(t.month), conv(t.day));
  const int64_t secs = days * 86400 + hour * 3600 + conv(t.min) * 60 + conv(t.sec);
  return secs < 0 ? 0 : static_cast<uint64_t>(secs) * 1000000000ull;
}
