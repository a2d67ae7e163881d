// LD_PRELOAD experiment, benchmark only: sets TCP_NODELAY on every socket the server
// accepts, to measure what Nagle's algorithm costs a server that does not set it itself.
// bench/run.sh uses it only when NODELAY_PRELOAD=1 (docs/PERFORMANCE.md). Once the server
// sets TCP_NODELAY on accepted sockets, this changes nothing.

#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace {

int with_nodelay(int fd) {
  if (fd >= 0) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on non-TCP
  }
  return fd;
}

template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int accept(int s, sockaddr* addr, socklen_t* len) {
  static auto real = next<int (*)(int, sockaddr*, socklen_t*)>("accept");
  return with_nodelay(real(s, addr, len));
}

extern "C" int accept4(int s, sockaddr* addr, socklen_t* len, int flags) {
  static auto real = next<int (*)(int, sockaddr*, socklen_t*, int)>("accept4");
  return with_nodelay(real(s, addr, len, flags));
}
