// The speed floor for the Linux benchmarks: an /init that powers the machine off at once and
// prints nothing. If the power-off returns, it waits forever (init must not exit).
#include <sys/reboot.h>
#include <unistd.h>

int main() {
  reboot(RB_POWER_OFF);
  for (;;) pause();
}
