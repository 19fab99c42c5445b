// Work that an event-loop thread runs beside its own: the HTTP server's reactors drive the
// upstream loops this way, so a request's upstream I/O stays on the thread of its connection.
#pragma once

namespace gateway {

/// Driven by one thread at a time (its owner), which calls every method below.
class ReactorWork {
 public:
  virtual ~ReactorWork() = default;
  /// A descriptor the owner polls: readable whenever run_ready() has something to do.
  virtual int ready_fd() const = 0;
  /// Called first in each turn of the owner's loop: marks this thread as the work's own.
  virtual void enter() = 0;
  /// Called when ready_fd() is readable.
  virtual void run_ready() = 0;
  /// Called at the end of each turn: runs what the turn queued for the work on its own thread.
  /// Returns whether it ran anything (which may have queued more for the owner).
  virtual bool run_queued() = 0;
};

}  // namespace gateway
