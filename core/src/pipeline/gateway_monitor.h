// The gateway's live figures for monitoring plugins (GatewayMonitor of the plugin API), read
// from the atomics of the services, workers and upstream loop that keep them.
#pragma once

#include <mutex>

#include "gateway/plugin.h"

namespace gateway {

struct GatewayServices;
class LogWorker;
class StorageWorker;
class UpstreamLoops;

/// The figures, each read with an atomic load (so not one snapshot across fields):
///  - in_flight_requests: GatewayServices::in_flight, chat requests from their upstream start to
///    their log record;
///  - open_streams: GatewayServices::open_streams, the `stream: true` ones among them;
///  - upstream_connections: UpstreamLoops::open_connections, sockets curl holds open to upstreams,
///    connecting, busy or idle in its cache;
///  - usage_queue_depth: LogWorker::queued (records not yet logged) plus
///    StorageWorker::usage_pending (rows not yet committed);
///  - usage_rows_dropped: LogWorker::dropped_chat plus StorageWorker::usage_dropped;
///  - config_reloads_succeeded/failed: the GatewayServices counters of the same names.
/// Created before the plugin chain (plugins keep a pointer to it) and outliving it; the parts it
/// reads are attached once they exist and detached before they go. Until attached every figure is
/// zero; once detached, stats() keeps answering the last figures. stats() takes a mutex that only
/// attach and detach contend for: monitoring reads it, the request path never does.
class LiveGatewayMonitor : public GatewayMonitor {
 public:
  /// What the figures are read from; `storage` may be null (no database).
  struct Sources {
    const GatewayServices* services = nullptr;
    const UpstreamLoops* upstream = nullptr;
    const LogWorker* log = nullptr;
    const StorageWorker* storage = nullptr;
  };

  GatewayStats stats() const override;

  /// Starts reading `sources`; they must stay alive until detach().
  void attach(Sources sources);
  /// Keeps the last figures and stops reading the sources.
  void detach();

  /// Attaches on construction and detaches on destruction: declare it after the sources.
  class Attachment {
   public:
    Attachment(LiveGatewayMonitor& monitor, Sources sources) : monitor_(monitor) { monitor_.attach(sources); }
    ~Attachment() { monitor_.detach(); }
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;

   private:
    LiveGatewayMonitor& monitor_;
  };

 private:
  GatewayStats read_locked() const;

  mutable std::mutex mutex_;
  bool attached_ = false;
  Sources sources_;
  GatewayStats last_;  ///< the figures at detach()
};

}  // namespace gateway
