#pragma once

// A bounded pool of plain threads for blocking module code (external APIs,
// mail, databases), so that CAF's scheduler threads never block
// (DESIGN.md §4).
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
// starve it. This header is free of CAF.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace billow::actors {

/// Identifies one submitted task; never 0.
using ticket = uint64_t;

class worker_pool {
public:
  /// Starts `threads` workers (at least one).
  explicit worker_pool(size_t threads);

  /// Stops taking tasks, drops queued ones, joins live workers (waiting for
  /// their running task) and leaves abandoned ones detached.
  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Queues `task`; it runs on the first free worker.
  ticket submit(std::function<void()> task);

  /// Gives up on `t`: when it is still queued it is dropped and never runs;
  /// when a worker runs it, that worker is detached and a new one started.
  /// Returns false when `t` already finished (or is unknown).
  bool abandon(ticket t);

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
