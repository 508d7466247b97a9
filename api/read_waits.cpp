#include "api/read_waits.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/clock.hpp"

namespace billow::api {

namespace {

/// One request's wait: whichever of gate and timer comes first answers.
struct wait_state {
  uint64_t id = 0;
  std::mutex mtx;
  bool done = false;
  std::shared_ptr<const projections::position_gate> gate;
  projections::position_gate::ticket ticket = 0;
  actors::timer_id timer = 0;
  std::function<void()> reached;
  std::function<void()> late;
};

} // namespace

/// What the callbacks on gates and timers share with the owner; `close`
/// empties it, so a callback that runs after it does nothing.
struct read_waits::shared {
  std::mutex mtx;
  bool open = true;
  post_fn post;
  actors::clock* timers = nullptr;
  std::atomic<size_t> waiting{0};
  /// The waits not answered yet, so that `close` can drop them: what they
  /// hold (a route's backend, with actor handles) must not outlive the
  /// actor system in a read model's gate.
  std::unordered_map<uint64_t, std::shared_ptr<wait_state>> live;
  uint64_t last_id = 0;
};

namespace {

void finish(const std::shared_ptr<read_waits::shared>& sh,
            const std::shared_ptr<wait_state>& st, bool reached) {
  std::function<void()> answer;
  {
    std::lock_guard guard{st->mtx};
    if (st->done)
      return;
    st->done = true;
    answer = std::move(reached ? st->reached : st->late);
    st->reached = nullptr;
    st->late = nullptr;
  }
  sh->waiting.fetch_sub(1, std::memory_order_relaxed);
  if (!reached)
    st->gate->cancel(st->ticket); // so the gate keeps nothing of it
  std::lock_guard guard{sh->mtx};
  if (!sh->open)
    return;
  sh->live.erase(st->id);
  if (reached)
    sh->timers->cancel(st->timer);
  sh->post(std::move(answer));
}

} // namespace

read_waits::read_waits(post_fn post)
  : shared_(std::make_shared<shared>()),
    timers_(actors::make_clock(actors::clock_kind::system)) {
  shared_->post = std::move(post);
  shared_->timers = timers_.get();
}

read_waits::~read_waits() {
  close();
  timers_.reset(); // drops the timers left, and the answers they hold
}

void read_waits::when_reached(
  std::shared_ptr<const projections::position_gate> gate, uint64_t pos,
  std::chrono::milliseconds wait, std::function<void()> reached,
  std::function<void()> late) {
  if (gate->position() >= pos)
    return reached();
  auto st = std::make_shared<wait_state>();
  std::unique_lock guard{st->mtx}; // the callbacks wait until it is armed
  auto ticket = gate->add_waiter(pos, [sh = shared_, st] {
    finish(sh, st, true);
  });
  if (ticket == 0) { // reached in between
    guard.unlock();
    return reached();
  }
  st->gate = std::move(gate);
  st->ticket = ticket;
  st->reached = std::move(reached);
  st->late = std::move(late);
  std::lock_guard open_guard{shared_->mtx};
  if (!shared_->open) {
    st->done = true;
    st->gate->cancel(ticket);
    return;
  }
  shared_->waiting.fetch_add(1, std::memory_order_relaxed);
  st->id = ++shared_->last_id;
  shared_->live.emplace(st->id, st);
  auto* timers = shared_->timers;
  st->timer = timers->schedule(
    timers->now() + std::chrono::duration_cast<actors::duration>(wait),
    [sh = shared_, st] {
      finish(sh, st, false);
    });
}

size_t read_waits::waiting() const {
  return shared_->waiting.load(std::memory_order_relaxed);
}

void read_waits::close() {
  std::unordered_map<uint64_t, std::shared_ptr<wait_state>> live;
  {
    std::lock_guard guard{shared_->mtx};
    shared_->open = false;
    shared_->post = nullptr;
    shared_->timers = nullptr;
    live.swap(shared_->live);
  }
  std::vector<std::function<void()>> dropped;
  for (auto& [id, st] : live) {
    {
      std::lock_guard guard{st->mtx};
      if (st->done)
        continue;
      st->done = true;
      dropped.push_back(std::move(st->reached));
      dropped.push_back(std::move(st->late));
    }
    shared_->waiting.fetch_sub(1, std::memory_order_relaxed);
    st->gate->cancel(st->ticket);
  }
  // Their requests answer 503 as their exchanges go (read_waits.hpp).
}

} // namespace billow::api
