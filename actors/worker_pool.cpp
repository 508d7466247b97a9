#include "actors/worker_pool.hpp"

#include <algorithm>
#include <shared_mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/runtime.hpp"

namespace billow::actors {

/// One worker thread; shared with its thread so that an abandoned worker
/// outlives the pool safely.
struct worker_pool::worker {
  std::thread thread;
  ticket running = 0;
  std::string label;
  bool abandoned = false;
  bool exited = false;
};

/// Everything the threads touch: owned jointly by the pool and every thread.
struct worker_pool::shared {
  mutable std::mutex mtx;
  std::condition_variable cv;
  /// Signalled when a live worker exits (shutdown waits on it).
  std::condition_variable exited_cv;
  std::deque<std::tuple<ticket, std::function<void()>, std::string>> queue;
  std::vector<std::shared_ptr<worker>> live;
  size_t abandoned = 0;
  size_t busy = 0;
  ticket next = 1;
  bool stop = false;
  bool shut_down = false;
  runtime_metrics* metrics = nullptr;
  /// `deliver` holds it shared; shutdown closes it exclusively.
  std::shared_mutex gate;
  bool closed = false;

  /// Publishes busy/idle workers (called with `mtx` held).
  void report() const {
    if (metrics != nullptr)
      metrics->pool_workers(busy, live.size() - busy);
  }
};

namespace {

/// The pool (`worker_pool::shared`) of the worker running on this thread;
/// none elsewhere.
thread_local void* this_pool = nullptr;

} // namespace

worker_pool::worker_pool(size_t threads, runtime_metrics* metrics)
  : shared_(std::make_shared<shared>()) {
  std::unique_lock<std::mutex> guard{shared_->mtx};
  shared_->metrics = metrics;
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i)
    start_worker(guard);
  shared_->report();
}

void worker_pool::start_worker(std::unique_lock<std::mutex>&) {
  auto w = std::make_shared<worker>();
  shared_->live.push_back(w);
  auto sh = shared_;
  w->thread = std::thread([sh, w] {
    this_pool = static_cast<void*>(sh.get());
    std::unique_lock<std::mutex> guard{sh->mtx};
    for (;;) {
      sh->cv.wait(guard, [&] {
        return sh->stop || !sh->queue.empty();
      });
      if (sh->stop) {
        w->exited = true;
        sh->exited_cv.notify_all();
        return;
      }
      auto [t, task, label] = std::move(sh->queue.front());
      sh->queue.pop_front();
      w->running = t;
      w->label = std::move(label);
      ++sh->busy;
      sh->report();
      guard.unlock();
      task();
      task = nullptr;
      guard.lock();
      w->running = 0;
      w->label.clear();
      if (w->abandoned)
        return; // replaced already; the thread was detached
      --sh->busy;
      sh->report();
    }
  });
}

worker_pool::~worker_pool() {
  shutdown(default_grace);
}

std::vector<std::string>
worker_pool::shutdown(std::chrono::milliseconds grace) {
  auto& sh = *shared_;
  std::vector<std::string> hung;
  std::vector<std::shared_ptr<worker>> live;
  {
    std::unique_lock<std::mutex> guard{sh.mtx};
    if (sh.shut_down)
      return hung;
    sh.shut_down = true;
    sh.stop = true;
    sh.queue.clear();
    sh.cv.notify_all();
    sh.exited_cv.wait_for(guard, grace, [&] {
      return std::all_of(sh.live.begin(), sh.live.end(), [](const auto& w) {
        return w->exited;
      });
    });
    live = sh.live;
    for (auto& w : live)
      if (!w->exited && w->running != 0) {
        w->abandoned = true;
        hung.push_back(w->label.empty() ? "ticket " + std::to_string(w->running)
                                        : w->label);
      }
    sh.live.clear();
    sh.busy = 0;
    sh.report();
  }
  for (auto& w : live) {
    if (w->abandoned)
      w->thread.detach();
    else
      w->thread.join();
  }
  {
    std::unique_lock<std::shared_mutex> closing{sh.gate};
    sh.closed = true;
  }
  for (auto& label : hung)
    spdlog::warn("worker pool: still running after {} ms, left detached: {}",
                 grace.count(), label);
  return hung;
}

bool worker_pool::deliver(const std::function<void()>& fn) {
  auto* sh = static_cast<shared*>(this_pool);
  if (sh == nullptr) {
    fn();
    return true;
  }
  std::shared_lock<std::shared_mutex> open{sh->gate};
  if (sh->closed)
    return false;
  fn();
  return true;
}

ticket worker_pool::submit(std::function<void()> task, std::string label) {
  ticket t;
  {
    std::lock_guard<std::mutex> guard{shared_->mtx};
    t = shared_->next++;
    if (shared_->stop)
      return t; // shutting down: dropped, as queued tasks are
    shared_->queue.emplace_back(t, std::move(task), std::move(label));
  }
  shared_->cv.notify_one();
  return t;
}

bool worker_pool::abandon(ticket t) {
  std::unique_lock<std::mutex> guard{shared_->mtx};
  auto& q = shared_->queue;
  auto qi = std::find_if(q.begin(), q.end(), [t](const auto& x) {
    return std::get<0>(x) == t;
  });
  if (qi != q.end()) {
    q.erase(qi);
    return true;
  }
  auto& live = shared_->live;
  auto wi = std::find_if(live.begin(), live.end(), [t](const auto& w) {
    return w->running == t;
  });
  if (wi == live.end() || shared_->stop)
    return false;
  auto w = *wi;
  live.erase(wi);
  w->abandoned = true;
  w->thread.detach();
  ++shared_->abandoned;
  --shared_->busy;
  if (shared_->metrics != nullptr)
    shared_->metrics->worker_replaced();
  start_worker(guard);
  shared_->report();
  return true;
}

size_t worker_pool::size() const {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  return shared_->live.size();
}

size_t worker_pool::abandoned() const {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  return shared_->abandoned;
}

size_t worker_pool::queued() const {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  return shared_->queue.size();
}

size_t worker_pool::busy() const {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  return shared_->busy;
}

} // namespace billow::actors
