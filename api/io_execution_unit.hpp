#pragma once

// Where the front actor runs: on the HTTP server's I/O threads, not on CAF's
// scheduler.
//
// The front actor stays an ordinary CAF actor (its mailbox, request/response,
// timers); only its turns run elsewhere. CAF asks the actor's execution unit
// to run the actor whenever its mailbox goes from empty to non-empty
// (`exec_later`); this unit answers by posting one turn onto the I/O loop, so
// a request read on an I/O thread is routed and answered on that thread, with
// no hand-over to a scheduler thread and back. This is how CAF's own brokers
// run on its network multiplexer.
//
//   session reads a request --anon_send--> front's mailbox
//     --exec_later--> post(turn) --I/O loop--> front.resume(): route, answer
//
// Everything else the front actor messages (services, jobs, ...) still runs on
// CAF's scheduler: `exec_later` for any other actor goes there.
//
// When the I/O loop has ended (`loop_ended`), the front actor moves to CAF's
// scheduler for the rest of its life, with a turn still owed to it.

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include <caf/execution_unit.hpp>
#include <caf/fwd.hpp>
#include <caf/mailbox_element.hpp>

namespace billow::api {

class io_execution_unit final : public caf::execution_unit {
public:
  /// Runs a function on one of the I/O threads (the HTTP server's `post`).
  using post_fn = std::function<void(std::function<void()>)>;

  io_execution_unit(caf::actor_system& sys, post_fn post);

  /// The actor this unit runs: set once, by the actor, before it launches.
  void host(caf::resumable* actor);

  /// Schedules a turn of the hosted actor on the I/O loop; any other actor
  /// goes to CAF's scheduler. Called from any thread.
  void exec_later(caf::resumable* job) override;

  /// Called once the I/O threads have stopped: from now on the hosted actor
  /// runs on CAF's scheduler, starting with a turn it may still be owed.
  void loop_ended();

  /// Messages the hosted actor handles in one turn before the I/O loop gets
  /// to its sockets again.
  static constexpr std::size_t max_throughput = 64;

private:
  /// One turn of the hosted actor (on an I/O thread).
  void run();

  post_fn post_;
  caf::resumable* hosted_ = nullptr;
  std::mutex mtx_;
  /// A turn was posted and has not started yet.
  bool owed_ = false;
  bool loop_ended_ = false;
};

/// An actor type `Base` (e.g. `caf::event_based_actor`) whose turns run on
/// an `io_execution_unit`: every enqueue and its launch name the unit, as CAF's
/// brokers name their multiplexer. The actor keeps the unit alive.
template <class Base>
class io_hosted : public Base {
public:
  template <class... Ts>
  io_hosted(caf::actor_config& cfg, std::shared_ptr<io_execution_unit> unit,
            Ts&&... xs)
    : Base(cfg, std::forward<Ts>(xs)...), unit_(std::move(unit)) {
    unit_->host(this);
  }

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit*) override {
    Base::enqueue(std::move(ptr), unit_.get());
  }

  void launch(caf::execution_unit*, bool lazy, bool hide) override {
    Base::launch(unit_.get(), lazy, hide);
  }

private:
  std::shared_ptr<io_execution_unit> unit_;
};

} // namespace billow::api
