#pragma once
// systemd's readiness protocol (Type=notify): READY=1 once every listener is bound,
// STOPPING=1 when the drain starts. Without $NOTIFY_SOCKET (not started by systemd) both
// do nothing.

#include <string_view>

namespace app {

void notify_systemd_ready();
void notify_systemd_stopping();

}  // namespace app
