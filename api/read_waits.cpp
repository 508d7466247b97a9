#include "api/read_waits.hpp"

#include <atomic>
#include <mutex>
#include <utility>

#include "actors/clock.hpp"

namespace billow::api {

/// What the callbacks on gates and timers share with the owner; `close`
/// empties it, so a callback that runs after it does nothing.
struct read_waits::shared {
  std::mutex mtx;
  bool open = true;
  post_fn post;
  actors::clock* timers = nullptr;
  std::atomic<size_t> waiting{0};
};

namespace {

/// One request's wait: whichever of gate and timer comes first answers.
struct wait_state {
  std::mutex mtx;
  bool done = false;
  std::shared_ptr<const projections::position_gate> gate;
  projections::position_gate::ticket ticket = 0;
  actors::timer_id timer = 0;
  std::function<void()> reached;
  std::function<void()> late;
};

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
  std::lock_guard guard{shared_->mtx};
  shared_->open = false;
  shared_->post = nullptr;
  shared_->timers = nullptr;
}

} // namespace billow::api
