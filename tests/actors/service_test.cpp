#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/service_state.hpp"
#include "tests/actors/outcome.hpp"
#include "tests/actors/runtime_fixture.hpp"

using namespace billow;
using namespace billow::actors;
using billow::test::outcome;
using billow::test::runtime_fixture;
using billow::test::step;

namespace {

/// A service state reached by applying events, as the log would.
service_state state_after(const std::vector<std::string>& types) {
  service_state st;
  for (auto& t : types) {
    boost::json::object p{{"client_id", to_string(events::uuid::random())},
                          {"product_id", to_string(events::uuid::random())},
                          {"module", "Product/test"},
                          {"job_id", to_string(events::uuid::random())},
                          {"error", "boom"}};
    service_state::apply(st, t, p);
  }
  return st;
}

const std::vector<service_op> all_ops
  = {service_op::create,    service_op::suspend,        service_op::unsuspend,
     service_op::terminate, service_op::change_package, service_op::cancel};

} // namespace

TEST(service_transition_table,
     every_command_in_every_state_is_allowed_or_refused_explicitly) {
  // state name -> (events that lead there, expected outcome per op in
  // all_ops order: create, suspend, unsuspend, terminate, change_package,
  // cancel).
  const std::string inv = "invalid_transition";
  struct row {
    std::string name;
    std::vector<std::string> history;
    std::vector<std::string> expect;
  };
  const std::vector<row> table = {
    {"none", {}, std::vector<std::string>(6, "not_found")},
    {"pending/pending",
     {"service.opened"},
     {"service.create_requested", inv, inv, inv, inv, "service.cancelled"}},
    {"pending/processing",
     {"service.opened", "service.create_requested"},
     {inv, inv, inv, inv, inv, inv}},
    {"pending/failed",
     {"service.opened", "service.create_requested",
      "service.provisioning_failed"},
     {"service.create_requested", inv, inv, inv, inv, "service.cancelled"}},
    {"active",
     {"service.opened", "service.create_requested", "service.provisioned"},
     {inv, "service.suspend_requested", inv, "service.terminate_requested",
      "service.package_change_requested", inv}},
    {"active, suspend in progress",
     {"service.opened", "service.create_requested", "service.provisioned",
      "service.suspend_requested"},
     {inv, inv, inv, inv, inv, inv}},
    {"active after a failed suspend",
     {"service.opened", "service.create_requested", "service.provisioned",
      "service.suspend_requested", "service.suspend_failed"},
     {inv, "service.suspend_requested", inv, "service.terminate_requested",
      "service.package_change_requested", inv}},
    {"suspended",
     {"service.opened", "service.create_requested", "service.provisioned",
      "service.suspend_requested", "service.suspended"},
     {inv, inv, "service.unsuspend_requested", "service.terminate_requested",
      inv, inv}},
    {"terminated",
     {"service.opened", "service.create_requested", "service.provisioned",
      "service.terminate_requested", "service.terminated"},
     {inv, inv, inv, inv, inv, inv}},
    {"cancelled",
     {"service.opened", "service.cancelled"},
     {inv, inv, inv, inv, inv, inv}},
  };
  for (auto& r : table) {
    auto st = state_after(r.history);
    for (size_t i = 0; i < all_ops.size(); ++i) {
      service_command cmd;
      cmd.op = all_ops[i];
      cmd.product_id = events::uuid::random();
      auto d = decide_lifecycle(st, r.history.size(), cmd,
                                events::uuid::random());
      EXPECT_EQ(outcome(d), r.expect[i])
        << "state " << r.name << ", command " << to_string(all_ops[i]);
    }
  }
}

TEST(service_transition_table,
     without_a_module_allowed_commands_record_their_outcome_at_once) {
  auto st = state_after({"service.opened"});
  st.module.clear();
  service_command cmd;
  cmd.op = service_op::create;
  EXPECT_EQ(outcome(decide_lifecycle(st, 1, cmd, {})), "service.provisioned");
  cmd.op = service_op::suspend;
  EXPECT_EQ(outcome(decide_lifecycle(st, 1, cmd, {})), "invalid_transition");
  auto active = state_after(
    {"service.opened", "service.create_requested", "service.provisioned"});
  active.module.clear();
  EXPECT_EQ(outcome(decide_lifecycle(active, 3, cmd, {})), "service.suspended");
  cmd.op = service_op::change_package;
  cmd.product_id = events::uuid::random();
  auto d = decide_lifecycle(active, 3, cmd, {});
  ASSERT_EQ(outcome(d), "service.package_changed");
  service_state::apply(active, d->front().type, d->front().payload);
  EXPECT_EQ(active.product_id, cmd.product_id);
  EXPECT_EQ(active.pending_op, service_op::none);
}

TEST(service_transition_table, outcomes_move_status_and_provision_status) {
  auto st = state_after({"service.opened"});
  EXPECT_EQ(st.status, service_status::pending);
  EXPECT_EQ(st.provision, provision_status::pending);
  st = state_after({"service.opened", "service.create_requested"});
  EXPECT_EQ(st.provision, provision_status::processing);
  st = state_after({"service.opened", "service.create_requested",
                    "service.provisioning_failed"});
  EXPECT_EQ(st.status, service_status::pending);
  EXPECT_EQ(st.provision, provision_status::failed);
  EXPECT_EQ(st.last_error, "boom");
  st = state_after({"service.opened", "service.create_requested",
                    "service.provisioned", "service.suspend_requested",
                    "service.suspended", "service.unsuspend_requested",
                    "service.unsuspended"});
  EXPECT_EQ(st.status, service_status::active);
  EXPECT_EQ(st.provision, provision_status::completed);
  EXPECT_EQ(st.pending_op, service_op::none);
}

TEST(service_transition_table, open_twice_and_bad_input_are_refused) {
  open_service cmd{events::uuid::random(), events::uuid::random(),
                   "Product/test", "system", ""};
  EXPECT_EQ(outcome(decide_open(service_state{}, cmd)), "service.opened");
  EXPECT_EQ(outcome(decide_open(state_after({"service.opened"}), cmd)),
            "already_exists");
  cmd.client_id = {};
  EXPECT_EQ(outcome(decide_open(service_state{}, cmd)), "invalid_argument");
  service_command change;
  change.op = service_op::change_package; // without a product
  auto active = state_after(
    {"service.opened", "service.create_requested", "service.provisioned"});
  EXPECT_EQ(outcome(decide_lifecycle(active, 3, change, {})),
            "invalid_argument");
  change.product_id = events::uuid::random();
  change.expected_version = 2;
  EXPECT_EQ(outcome(decide_lifecycle(active, 3, change, {})),
            "wrong_expected_version");
}

TEST(service_transition_table, open_records_the_period_and_label_ordered) {
  open_service cmd{events::uuid::random(), events::uuid::random(),
                   "Product/test", "system", ""};
  auto bare = decide_open(service_state{}, cmd);
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->front().payload.contains("period"));
  EXPECT_FALSE(bare->front().payload.contains("label"));
  cmd.period = "annually";
  cmd.label = "shop db";
  auto priced = decide_open(service_state{}, cmd);
  ASSERT_TRUE(priced);
  const auto& p = priced->front().payload;
  EXPECT_EQ(p.at("period").as_string(), "annually");
  EXPECT_EQ(p.at("label").as_string(), "shop db");
  service_state st;
  service_state::apply(st, "service.opened", p);
  EXPECT_EQ(st.period, "annually");
  EXPECT_EQ(st.label, "shop db");
  auto back = service_state::from_json(st.to_json());
  EXPECT_EQ(back.period, "annually");
  EXPECT_EQ(back.label, "shop db");
}

TEST(service_transition_table, snapshot_json_round_trips_the_state) {
  auto st = state_after({"service.opened", "service.create_requested"});
  st.pending_policy = job_policy{1, {60}, 600, 1};
  auto back = service_state::from_json(st.to_json());
  EXPECT_EQ(back.status, st.status);
  EXPECT_EQ(back.provision, st.provision);
  EXPECT_EQ(back.pending_op, st.pending_op);
  EXPECT_EQ(back.job_id, st.job_id);
  EXPECT_EQ(back.client_id, st.client_id);
  EXPECT_EQ(back.module, st.module);
  ASSERT_TRUE(back.pending_policy);
  EXPECT_EQ(*back.pending_policy, *st.pending_policy);
}

// -- through the actors -------------------------------------------------------

using service_test = runtime_fixture;

TEST_F(service_test, create_runs_create_job_and_records_provisioned) {
  auto id = events::uuid::random();
  auto opened = open(id);
  ASSERT_TRUE(opened) << to_string(opened.error());
  EXPECT_EQ(opened->version, 1u);
  auto r = command(id, service_op::create);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->version, 2u);
  ASSERT_FALSE(r->job_id.is_nil());
  ASSERT_TRUE(eventually([&] {
    auto v = service(id);
    return v && v->status == service_status::active;
  }));
  auto v = service(id);
  EXPECT_EQ(v->provision, provision_status::completed);
  EXPECT_EQ(v->pending_op, service_op::none);
  EXPECT_EQ(types(service_stream(id)),
            (std::vector<std::string>{"service.opened",
                                      "service.create_requested",
                                      "service.provisioned"}));
  auto j = job(r->job_id);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->method, "create_job");
  EXPECT_EQ(j->service_id, id);
  EXPECT_EQ(j->status, job_status::completed);
}

TEST_F(service_test,
       failed_create_job_records_provisioning_failed_with_the_error) {
  module.script("create_job", {step::error});
  auto id = events::uuid::random();
  ASSERT_TRUE(open(id));
  service_command cmd;
  cmd.op = service_op::create;
  cmd.policy = job_policy{1, {60}, 600, 1}; // the seed's create() policy
  auto r = ask<command_result>(services, svc_cmd_atom::value, id, cmd);
  ASSERT_TRUE(r);
  ASSERT_TRUE(eventually([&] {
    auto v = service(id);
    return v && v->provision == provision_status::failed;
  }));
  auto v = service(id);
  EXPECT_EQ(v->status, service_status::pending);
  EXPECT_EQ(v->last_error, "remote API said no");
  auto evs = store->read_stream(service_stream(id), 3,
                                events::read_direction::forward, 1);
  ASSERT_TRUE(evs);
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ(evs->front().type, "service.provisioning_failed");
  EXPECT_NE(evs->front().payload.find("remote API said no"), std::string::npos);
  // Provisioning may be tried again from failed.
  EXPECT_TRUE(command(id, service_op::create));
}

TEST_F(service_test, service_without_module_changes_state_with_the_command) {
  auto id = events::uuid::random();
  open_service o{events::uuid::random(), events::uuid::random(), "", "admin:1",
                 ""};
  ASSERT_TRUE(ask<command_result>(services, svc_open_atom::value, id, o));
  auto created = command(id, service_op::create);
  ASSERT_TRUE(created);
  EXPECT_TRUE(created->job_id.is_nil());
  EXPECT_EQ(service(id)->status, service_status::active);
  ASSERT_TRUE(command(id, service_op::suspend));
  EXPECT_EQ(service(id)->status, service_status::suspended);
  EXPECT_EQ(types(service_stream(id)),
            (std::vector<std::string>{"service.opened", "service.provisioned",
                                      "service.suspended"}));
  EXPECT_TRUE(module.calls().empty());
}

TEST_F(service_test, lifecycle_round_trip_and_refusals_through_the_registry) {
  auto id = active_service();
  // The suspend job waits in the module until released, so the command
  // below surely comes while it is in progress.
  module.script("suspend_job", {step::hang});
  ASSERT_TRUE(command(id, service_op::suspend));
  ASSERT_TRUE(module.wait_hanging(1));
  // While the suspend job is in progress, nothing else may start.
  auto busy = command(id, service_op::terminate);
  ASSERT_FALSE(busy);
  EXPECT_EQ(errc_of(busy.error()), billow_errc::invalid_transition);
  module.release();
  ASSERT_TRUE(eventually([&] {
    auto v = service(id);
    return v && v->status == service_status::suspended;
  }));
  auto again = command(id, service_op::suspend);
  ASSERT_FALSE(again);
  EXPECT_EQ(errc_of(again.error()), billow_errc::invalid_transition);
  ASSERT_TRUE(command(id, service_op::terminate));
  ASSERT_TRUE(eventually([&] {
    auto v = service(id);
    return v && v->status == service_status::terminated;
  }));
  auto after = command(id, service_op::suspend);
  ASSERT_FALSE(after);
  EXPECT_EQ(errc_of(after.error()), billow_errc::invalid_transition);
  auto unknown = command(events::uuid::random(), service_op::suspend);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(errc_of(unknown.error()), billow_errc::not_found);
}

TEST_F(service_test, same_command_twice_with_one_idempotency_key_runs_once) {
  auto id = active_service();
  auto first = command(id, service_op::suspend, "key-1");
  ASSERT_TRUE(first) << to_string(first.error());
  auto second = command(id, service_op::suspend, "key-1");
  ASSERT_TRUE(second) << to_string(second.error());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(first->version, second->version);
  EXPECT_EQ(first->job_id, second->job_id);
  auto t = types(service_stream(id));
  EXPECT_EQ(std::count(t.begin(), t.end(), "service.suspend_requested"), 1);
  // Opening twice with one key answers the first result, not already_exists.
  auto sid = events::uuid::random();
  auto o1 = open(sid, "open-1");
  auto o2 = open(sid, "open-1");
  ASSERT_TRUE(o1);
  ASSERT_TRUE(o2);
  EXPECT_TRUE(o2->duplicate);
  auto o3 = open(sid);
  ASSERT_FALSE(o3);
  EXPECT_EQ(errc_of(o3.error()), billow_errc::already_exists);
}

TEST_F(service_test, if_match_with_a_stale_version_is_refused) {
  auto id = active_service();
  auto v = service(id);
  ASSERT_TRUE(v);
  auto stale = command(id, service_op::suspend, {},
                       static_cast<int64_t>(v->version) - 1);
  ASSERT_FALSE(stale);
  EXPECT_EQ(errc_of(stale.error()), billow_errc::wrong_expected_version);
  EXPECT_TRUE(
    command(id, service_op::suspend, {}, static_cast<int64_t>(v->version)));
}

// svc_cmd_view answers what the HTTP front shows: the command's result and
// the service as the command left it, so no second ask is needed.
TEST_F(service_test, a_command_with_view_answers_the_service_it_left) {
  auto id = active_service();
  auto before = service(id);
  ASSERT_TRUE(before);
  service_command cmd;
  cmd.op = service_op::suspend;
  cmd.idempotency_key = "view-1";
  auto r = ask<service_command_reply>(services, svc_cmd_view_atom::value, id,
                                      cmd);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_FALSE(r->result.duplicate);
  EXPECT_EQ(r->result.version, before->version + 1);
  EXPECT_FALSE(r->result.job_id.is_nil());
  // Requested, its job not done yet: at the moment of the answer.
  EXPECT_EQ(r->view.id, id);
  EXPECT_EQ(r->view.version, r->result.version);
  EXPECT_EQ(r->view.status, service_status::active);
  EXPECT_EQ(r->view.pending_op, service_op::suspend);
  EXPECT_EQ(r->view.job_id, r->result.job_id);
  EXPECT_EQ(r->view.client_id, before->client_id);
  ASSERT_TRUE(eventually([&] {
    auto v = service(id);
    return v && v->status == service_status::suspended;
  }));
  // The same key again: the remembered result, the service as it is now.
  auto again = ask<service_command_reply>(services, svc_cmd_view_atom::value,
                                          id, cmd);
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_TRUE(again->result.duplicate);
  EXPECT_EQ(again->result.version, r->result.version);
  EXPECT_EQ(again->result.job_id, r->result.job_id);
  EXPECT_EQ(again->view.status, service_status::suspended);
  EXPECT_EQ(again->view.pending_op, service_op::none);
  EXPECT_GT(again->view.version, r->result.version);
  // Refusals are errors, as for svc_cmd.
  cmd.idempotency_key.clear();
  cmd.op = service_op::unsuspend;
  cmd.expected_version = static_cast<int64_t>(again->view.version) - 1;
  auto stale = ask<service_command_reply>(services, svc_cmd_view_atom::value,
                                          id, cmd);
  ASSERT_FALSE(stale);
  EXPECT_EQ(errc_of(stale.error()), billow_errc::wrong_expected_version);
  cmd.op = service_op::suspend;
  cmd.expected_version = -1;
  auto refused = ask<service_command_reply>(services, svc_cmd_view_atom::value,
                                            id, cmd);
  ASSERT_FALSE(refused);
  EXPECT_EQ(errc_of(refused.error()), billow_errc::invalid_transition);
  auto unknown = ask<service_command_reply>(services, svc_cmd_view_atom::value,
                                            events::uuid::random(), cmd);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(errc_of(unknown.error()), billow_errc::not_found);
}

TEST_F(service_test, change_package_records_the_new_product) {
  auto id = active_service();
  service_command cmd;
  cmd.op = service_op::change_package;
  cmd.product_id = events::uuid::random();
  ASSERT_TRUE(ask<command_result>(services, svc_cmd_atom::value, id, cmd));
  ASSERT_TRUE(eventually([&] {
    auto v = service(id);
    return v && v->product_id == cmd.product_id
      && v->pending_op == service_op::none;
  }));
  auto calls = module.calls();
  EXPECT_EQ(calls.back().method, "change_package_job");
}

TEST_F(service_test, restart_during_a_job_still_records_the_outcome) {
  auto id = active_service();
  module.script("suspend_job", {step::hang, step::ok});
  auto r = command(id, service_op::suspend);
  ASSERT_TRUE(r);
  ASSERT_TRUE(module.wait_hanging(1));
  // "Crash" while suspend_job runs; the hung call stays in flight.
  stop_runtime();
  start_runtime();
  auto jobs_resumed = ask<uint64_t>(jobs, recover_atom::value);
  ASSERT_TRUE(jobs_resumed);
  EXPECT_EQ(*jobs_resumed, 1u);
  auto woken = ask<uint64_t>(services, recover_atom::value);
  ASSERT_TRUE(woken);
  EXPECT_EQ(*woken, 1u); // the provisioned create is not woken
  ASSERT_TRUE(eventually([&] {
    auto v = service(id);
    return v && v->status == service_status::suspended;
  }));
  // The module saw the same job id, attempt 1 twice (at-least-once).
  EXPECT_EQ(module.attempts_of(r->job_id), (std::vector<uint32_t>{1, 1}));
  auto t = types(service_stream(id));
  EXPECT_EQ(std::count(t.begin(), t.end(), "service.suspended"), 1);
  // Nothing is in flight any more: the next start wakes nobody.
  stop_runtime();
  start_runtime();
  auto again = ask<uint64_t>(services, recover_atom::value);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

TEST_F(service_test, service_whose_job_was_never_queued_queues_it_on_recovery) {
  // The crash window between `service.suspend_requested` and `job.queued`:
  // write the request straight to the log, as if the process died there.
  auto id = active_service();
  auto v = service(id);
  ASSERT_TRUE(v);
  service_state st;
  st.status = service_status::active;
  st.module = "Product/test";
  service_command cmd;
  cmd.op = service_op::suspend;
  auto job_id = derive_uuid(service_stream(id), "job", v->version + 1);
  auto evs = decide_lifecycle(st, v->version, cmd, job_id);
  ASSERT_TRUE(evs);
  auto news = to_new_events(service_stream(id), "", "system", *evs);
  ASSERT_TRUE(store->append(service_stream(id),
                            events::expected_version::exact(v->version),
                            std::move(news)));
  stop_runtime();
  start_runtime();
  ASSERT_TRUE(ask<uint64_t>(services, recover_atom::value));
  ASSERT_TRUE(eventually([&] {
    auto x = service(id);
    return x && x->status == service_status::suspended;
  }));
  auto j = job(job_id);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->method, "suspend_job");
  EXPECT_EQ(j->status, job_status::completed);
}
