#include "api/io_execution_unit.hpp"

#include <caf/actor_system.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace billow::api {

io_execution_unit::io_execution_unit(caf::actor_system& sys, post_fn post)
  : caf::execution_unit(&sys), post_(std::move(post)) {
  // nop
}

void io_execution_unit::host(caf::resumable* actor) {
  hosted_ = actor;
}

void io_execution_unit::exec_later(caf::resumable* job) {
  if (job != hosted_) {
    // An actor the front messaged: it belongs to CAF's scheduler.
    system().scheduler().enqueue(job);
    return;
  }
  {
    std::lock_guard guard{mtx_};
    if (!loop_ended_) {
      owed_ = true;
      post_([this] {
        run();
      });
      return;
    }
  }
  system().scheduler().enqueue(job);
}

void io_execution_unit::run() {
  {
    std::lock_guard guard{mtx_};
    if (!owed_) // `loop_ended` handed the turn to CAF's scheduler
      return;
    owed_ = false;
  }
  // CAF holds a reference on the actor for each scheduled turn (taken before
  // `exec_later`): a turn that ends waiting or done gives it back.
  auto* actor = hosted_;
  switch (actor->resume(this, max_throughput)) {
    case caf::resumable::resume_later:
      exec_later(actor); // more messages: after the sockets' turn
      break;
    case caf::resumable::awaiting_message:
    case caf::resumable::done: caf::intrusive_ptr_release(actor); break;
    case caf::resumable::shutdown_execution_unit: break;
  }
}

void io_execution_unit::loop_ended() {
  bool owed = false;
  {
    std::lock_guard guard{mtx_};
    loop_ended_ = true;
    owed = owed_;
    owed_ = false;
  }
  if (owed)
    system().scheduler().enqueue(hosted_);
}

} // namespace billow::api
