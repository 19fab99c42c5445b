// An upstream loop's sockets in its epoll set: what curl asks to watch, the connections it opens
// and closes (counted, and kept registered while idle), and an idle one the upstream closed.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "upstream/upstream_loop.h"

namespace gateway {

int UpstreamLoop::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* self, void* /*socket_data*/) {
  auto* loop = static_cast<UpstreamLoop*>(self);
  if (what != CURL_POLL_REMOVE) {
    loop->watch(fd, ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u));
    return 0;
  }
  auto it = loop->watches_.find(fd);
  if (it == loop->watches_.end()) return 0;
  if (it->second.own && it->second.events != 0) {
    it->second.wanted = false;  // kept registered while idle (see Watch)
  } else {
    loop->unwatch(fd);
  }
  return 0;
}

void UpstreamLoop::watch(int fd, std::uint32_t events) {
  Watch& w = watches_[fd];
  w.wanted = true;
  if (w.events == events) return;
  epoll_event ev{};
  ev.data.fd = fd;
  ev.events = events;
  // Make epoll agree whatever it remembers: fall back to the other call when an fd was closed
  // and reused behind our back.
  const bool registered = w.events != 0;
  if (epoll_ctl(epoll_.get(), registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0 &&
      (errno == ENOENT || errno == EEXIST)) {
    epoll_ctl(epoll_.get(), registered ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
  }
  w.events = events;
}

void UpstreamLoop::unwatch(int fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  if (it->second.events != 0) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  if (it->second.own) {
    it->second = Watch{.own = true};
  } else {
    watches_.erase(it);
  }
}

curl_socket_t UpstreamLoop::open_socket(void* self, curlsocktype /*purpose*/, curl_sockaddr* address) {
  auto* loop = static_cast<UpstreamLoop*>(self);
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd < 0) return CURL_SOCKET_BAD;
  loop->open_connections_.fetch_add(1, std::memory_order_relaxed);
  loop->watches_[fd] = Watch{.own = true};
  return fd;
}

int UpstreamLoop::close_socket(void* self, curl_socket_t fd) {
  auto* loop = static_cast<UpstreamLoop*>(self);
  loop->open_connections_.fetch_sub(1, std::memory_order_relaxed);
  loop->watches_.erase(fd);  // closing the socket takes it out of epoll_
  return ::close(fd);
}

}  // namespace gateway
