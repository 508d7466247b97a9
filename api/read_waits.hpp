#pragma once

// Requests that wait for a read model to reach a log position
// (`?min_position=`, a read of a service the projection has not applied yet,
// a login waiting for an account created just before), without holding a
// thread while they wait.
//
//   handler --when_reached(gate, pos, wait)--> position reached already?
//     yes: answer at once, on the handler's thread
//     no:  a callback on the read model's position gate, plus a timer
//          (one timer thread for all of them, real time)
//   follower applies pos --gate runs the callback--> post(answer) --> I/O
//   timer first --> gate callback dropped --> post(late: the 504)
//
// Exactly one of the two runs, through `post` (the HTTP server's I/O
// threads), never on the follower's or the timer's thread. Before this,
// each wait held a thread of the small blocking pool for up to the read
// wait (5 s), so eight such reads stalled every login behind them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "projections/position_gate.hpp"

namespace billow::actors {
class clock;
} // namespace billow::actors

namespace billow::api {

class read_waits {
public:
  /// Runs a function on another thread (the HTTP server's I/O threads).
  using post_fn = std::function<void(std::function<void()>)>;

  explicit read_waits(post_fn post);
  /// `close`s, then stops the timer thread.
  ~read_waits();

  read_waits(const read_waits&) = delete;
  read_waits& operator=(const read_waits&) = delete;

  /// Runs `reached` once `gate` is at `pos`, or `late` once `wait` has
  /// passed without it; exactly one of them (none after `close`). When the
  /// gate is there already, `reached` runs at once on the calling thread;
  /// otherwise either runs through `post`. `gate` is kept until then.
  void when_reached(std::shared_ptr<const projections::position_gate> gate,
                    uint64_t pos, std::chrono::milliseconds wait,
                    std::function<void()> reached, std::function<void()> late);

  /// Requests waiting now.
  size_t waiting() const;

  /// From now on nothing runs: waits not answered yet never are; their
  /// callbacks leave the gates and what they hold is dropped now (so their
  /// exchanges answer 503, and no route's actor handles stay behind in a
  /// read model past the actor system). The application calls it as the
  /// HTTP server begins to drain (so a shutdown does not wait for them),
  /// and in any case before whatever `post` reaches goes away. Safe more
  /// than once, from any thread.
  void close();

  struct shared;

private:
  std::shared_ptr<shared> shared_;
  std::unique_ptr<actors::clock> timers_;
};

} // namespace billow::api
