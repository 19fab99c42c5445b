// The listener and its reactor threads, each with its own transport and connections
// (server/gateway_transport.h, server/connection_handler.h).
#include "server/http_server.h"

#include <pistache/listener.h>

#include "server/connection_handler.h"
#include "server/gateway_transport.h"

namespace gateway {

using namespace Pistache;

HttpServer::HttpServer(ServerOptions options, RequestHandler& handler, std::vector<ReactorWork*> reactor_work)
    : options_(std::move(options)), handler_(handler), reactor_work_(std::move(reactor_work)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  Address address(options_.host, Port(options_.port));
  listener_ = std::make_unique<Tcp::Listener>(address);
  auto handler = std::make_shared<ConnectionHandler>(options_, handler_, blocked_connections_);
  listener_->init(options_.threads, Flags<Tcp::Options>(Tcp::Options::ReuseAddr) | Tcp::Options::NoDelay,
                  "gw-reactor", 4096);
  listener_->setHandler(handler);
  auto work = std::make_shared<ReactorWorkSource>(reactor_work_);
  listener_->setTransportFactory(
      [handler, work] { return std::make_shared<GatewayTransport>(handler, work); });
  listener_->bind();
  listener_->runThreaded();
}

std::size_t HttpServer::blocked_connections() const {
  return blocked_connections_->load();
}

std::uint16_t HttpServer::port() const {
  return listener_ ? static_cast<std::uint16_t>(listener_->getPort()) : 0;
}

void HttpServer::stop() {
  if (listener_) {
    listener_->shutdown();
    listener_.reset();
  }
}

}  // namespace gateway
