#include "arch/rtc.h"

#include "arch/x86.h"

namespace rtc {
namespace {

constexpr uint16_t kIndex = 0x70, kData = 0x71;
constexpr uint8_t kSeconds = 0x00, kMinutes = 0x02, kHours = 0x04, kDay = 0x07, kMonth = 0x08, kYear = 0x09,
                  kStatusA = 0x0A, kStatusB = 0x0B, kCentury = 0x32;
constexpr uint8_t kUpdateInProgress = 0x80, kBinary = 0x04, k24Hour = 0x02, kPm = 0x80;

uint8_t read(uint8_t reg) {
  x86::outb(kIndex, reg);
  return x86::inb(kData);
}

uint32_t from_bcd(uint8_t v, bool binary) { return binary ? v : (v & 0x0F) + (v >> 4) * 10; }

/// Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's days_from_civil.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

uint64_t wallclock_ns() {
  for (int spins = 0; spins < 1000000 && (read(kStatusA) & kUpdateInProgress); ++spins) x86::pause();
  const uint8_t status_b = read(kStatusB);
  const bool binary = status_b & kBinary;
  uint32_t sec = from_bcd(read(kSeconds), binary);
  uint32_t min = from_bcd(read(kMinutes), binary);
  uint8_t raw_hour = read(kHours);
  uint32_t hour = from_bcd(raw_hour & 0x7F, binary);
  if (!(status_b & k24Hour) && (raw_hour & kPm)) hour = (hour % 12) + 12;
  uint32_t day = from_bcd(read(kDay), binary);
  uint32_t month = from_bcd(read(kMonth), binary);
  uint32_t year = from_bcd(read(kYear), binary);
  uint32_t century = from_bcd(read(kCentury), binary);
  year += (century >= 19 && century <= 21) ? century * 100 : 2000;
  int64_t days = days_from_civil(year, month, day);
  int64_t seconds = days * 86400 + hour * 3600 + min * 60 + sec;
  return static_cast<uint64_t>(seconds) * 1000000000ull;
}

}  // namespace rtc
