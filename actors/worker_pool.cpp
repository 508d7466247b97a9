#include "actors/worker_pool.hpp"

#include <algorithm>
#include <thread>

namespace billow::actors {

/// One worker thread; shared with its thread so that an abandoned worker
/// outlives the pool safely.
struct worker_pool::worker {
  std::thread thread;
  ticket running = 0;
  bool abandoned = false;
};

/// Everything the threads touch: owned jointly by the pool and every thread.
struct worker_pool::shared {
  mutable std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::pair<ticket, std::function<void()>>> queue;
  std::vector<std::shared_ptr<worker>> live;
  size_t abandoned = 0;
  ticket next = 1;
  bool stop = false;
};

worker_pool::worker_pool(size_t threads) : shared_(std::make_shared<shared>()) {
  std::unique_lock<std::mutex> guard{shared_->mtx};
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i)
    start_worker(guard);
}

void worker_pool::start_worker(std::unique_lock<std::mutex>&) {
  auto w = std::make_shared<worker>();
  shared_->live.push_back(w);
  auto sh = shared_;
  w->thread = std::thread([sh, w] {
    std::unique_lock<std::mutex> guard{sh->mtx};
    for (;;) {
      sh->cv.wait(guard, [&] {
        return sh->stop || !sh->queue.empty();
      });
      if (sh->stop)
        return;
      auto [t, task] = std::move(sh->queue.front());
      sh->queue.pop_front();
      w->running = t;
      guard.unlock();
      task();
      task = nullptr;
      guard.lock();
      w->running = 0;
      if (w->abandoned)
        return; // replaced already; the thread was detached
    }
  });
}

worker_pool::~worker_pool() {
  std::vector<std::shared_ptr<worker>> live;
  {
    std::lock_guard<std::mutex> guard{shared_->mtx};
    shared_->stop = true;
    shared_->queue.clear();
    live = shared_->live;
  }
  shared_->cv.notify_all();
  for (auto& w : live)
    w->thread.join();
}

ticket worker_pool::submit(std::function<void()> task) {
  ticket t;
  {
    std::lock_guard<std::mutex> guard{shared_->mtx};
    t = shared_->next++;
    shared_->queue.emplace_back(t, std::move(task));
  }
  shared_->cv.notify_one();
  return t;
}

bool worker_pool::abandon(ticket t) {
  std::unique_lock<std::mutex> guard{shared_->mtx};
  auto& q = shared_->queue;
  auto qi = std::find_if(q.begin(), q.end(), [t](const auto& x) {
    return x.first == t;
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
  start_worker(guard);
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
  return static_cast<size_t>(std::count_if(
    shared_->live.begin(), shared_->live.end(), [](const auto& w) {
      return w->running != 0;
    }));
}

} // namespace billow::actors
