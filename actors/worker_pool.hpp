#pragma once

// A bounded pool of plain threads for blocking module code (external APIs,
// mail, databases), so that CAF's scheduler threads never block
// (docs/design.md, "Actors").
//
//   submit(task) ──► [ queue ] ──► worker 1..N (std::thread, not CAF)
//                                     │ task() — may block, may hang
//   abandon(ticket) ─────────────────►┘ the worker running that ticket is
//                                       detached and replaced by a fresh one
//
// The pool never decides on its own that a task hangs: the job actor owns the
// attempt's timeout (on the injected clock) and calls `abandon` when it
// expires. The abandoned thread finishes its task whenever the blocking call
// returns (its outcome is then stale and ignored by the job) and exits; the
// pool keeps `size()` live workers at all times, so one hung call cannot
// starve it.
//
// Shutdown is bounded: `shutdown(grace)` drops queued tasks, waits up to
// `grace` for running ones, then detaches the workers still running (logging
// each one's label) and closes the pool's gate. A task reports back through
// `deliver`, which runs nothing once the gate is closed, so a call that
// returns after shutdown cannot reach an actor system that is gone. This
// header is free of CAF.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace billow::actors {

class runtime_metrics;

/// Identifies one submitted task; never 0.
using ticket = uint64_t;

class worker_pool {
public:
  /// Starts `threads` workers (at least one); `metrics` (optional, must
  /// outlive the pool) gets busy/idle workers and replacements.
  explicit worker_pool(size_t threads, runtime_metrics* metrics = nullptr);

  /// `shutdown(default_grace)` unless it ran already.
  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// What the destructor waits for running tasks.
  static constexpr std::chrono::milliseconds default_grace{10'000};

  /// Queues `task`; it runs on the first free worker. `label` names it in
  /// the log when shutdown has to leave it running.
  ticket submit(std::function<void()> task, std::string label = {});

  /// Gives up on `t`: when it is still queued it is dropped and never runs;
  /// when a worker runs it, that worker is detached and a new one started.
  /// Returns false when `t` already finished (or is unknown).
  bool abandon(ticket t);

  /// Stops taking tasks, drops queued ones, waits up to `grace` for the
  /// running ones, detaches the workers still busy after that and closes
  /// the gate (`deliver`). Answers the labels of the tasks left running.
  /// Runs once; later calls answer nothing.
  std::vector<std::string> shutdown(std::chrono::milliseconds grace);

  /// Runs `fn`, a task's report back (e.g. a message to an actor), unless
  /// the pool of the calling worker thread was shut down; answers whether
  /// it ran. On a thread that is not a worker, just runs `fn`.
  static bool deliver(const std::function<void()>& fn);

  /// Live (not abandoned) workers: always the configured size.
  size_t size() const;

  /// Workers abandoned so far.
  size_t abandoned() const;

  /// Tasks waiting for a worker.
  size_t queued() const;

  /// Tasks running now on live workers.
  size_t busy() const;

private:
  struct shared;
  struct worker;

  void start_worker(std::unique_lock<std::mutex>& guard);

  std::shared_ptr<shared> shared_;
};

} // namespace billow::actors
