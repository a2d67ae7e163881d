#include "app/systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include "core/log.hpp"

namespace app {
namespace {

void notify(const char* state) {
  // unset_environment = 0: the variable stays for nothing else to use, and clearing the
  // environment while other threads run is not safe.
  int rc = ::sd_notify(0, state);
  if (rc < 0) spdlog::warn("event=sd_notify_failed state={} errno={}", state, -rc);
}

}  // namespace

void notify_systemd_ready() { notify("READY=1"); }
void notify_systemd_stopping() { notify("STOPPING=1"); }

}  // namespace app
