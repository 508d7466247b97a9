#include "api/job_routes.hpp"

#include <boost/json.hpp>

#include "api/redaction.hpp"
#include "api/route_helpers.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

/// A job as docs/api.md shows it; its `result` redacted unless `secrets`.
json::object job_json(const actors::job_view& v, bool secrets) {
  json::array failures;
  for (const auto& f : v.failures)
    failures.push_back(json::object{
      {"attempt", f.attempt}, {"kind", f.kind}, {"message", f.message}});
  json::array tags;
  for (const auto& t : v.tags)
    tags.push_back(json::value(t));
  boost::system::error_code ec;
  auto result = json::parse(v.result, ec);
  json::object out{
    {"id", events::to_string(v.job_id)},
    {"status", actors::to_string(v.status)},
    {"module", v.module},
    {"method", v.method},
    {"service_id",
     v.service_id.is_nil() ? json::value(nullptr)
                           : json::value(events::to_string(v.service_id))},
    {"tags", std::move(tags)},
    {"attempt", v.attempt},
    {"attempts_used", v.attempts_used},
    {"exceptions", v.exceptions},
    {"tries", v.policy.tries},
    {"failures", std::move(failures)},
    {"result",
     v.result.empty() || ec ? json::value(nullptr) : std::move(result)},
    {"error", or_null(v.error)},
    {"version", v.version},
  };
  if (!secrets)
    redact_secrets(out["result"]);
  return out;
}

constexpr actors::job_status job_statuses[]
  = {actors::job_status::queued, actors::job_status::running,
     actors::job_status::retrying, actors::job_status::completed,
     actors::job_status::failed};

void list_jobs(const request_context& ctx, const admin_env& env) {
  auto check = query_checker();
  auto params = parse_list_params(ctx, check);
  projections::job_filter filter;
  if (auto status = ctx.request().query_param("status")) {
    filter.status = parse_enum(*status, job_statuses);
    if (!filter.status)
      check.fail("status",
                 "must be queued, running, retrying, completed or failed");
  }
  if (auto tag = ctx.request().query_param("tag")) {
    if (tag->empty() || tag->size() > 200)
      check.fail("tag", "must be 1 to 200 characters");
    filter.tag = std::string{*tag};
  }
  if (!check.ok())
    return ctx.reply(check.problem());
  when_reached(
    ctx, *env.auth, env.be->job_list, params.min_position, env.be->read_wait,
    [ctx, env, filter, params] {
      auto position = env.be->job_list->position();
      auto page = env.be->job_list->jobs(filter, params.after, params.limit);
      bool secrets = shows_secrets(ctx);
      json::array items;
      for (const auto& row : page.items) {
        auto item = job_json(row.state.view, secrets);
        item["created_at"] = rfc3339(row.created_us);
        item["updated_at"] = rfc3339(row.updated_us);
        items.push_back(std::move(item));
      }
      ctx.reply(list_response(std::move(items), page.next_after, position));
    });
}

/// Asks the job manager about `{id}` with `atom` (and `xs...`) and answers
/// the job it replies with `status`.
template <class Atom, class... Ts>
void ask_job(const request_context& ctx, const admin_env& env, unsigned status,
             bool secrets, Atom atom, Ts... xs) {
  auto id = id_param(ctx);
  if (!id)
    return;
  ask_for<actors::job_view>(
    ctx, env.be->jobs,
    [status, secrets](const request_context& ctx, const actors::job_view& v) {
      ctx.reply(json_response(status, json::serialize(job_json(v, secrets))));
    },
    atom, *id, std::move(xs)...);
}

void get_job(const request_context& ctx, const admin_env& env) {
  // The result may hold service data.
  ask_job(ctx, env, 200, shows_secrets(ctx), actors::job_get_atom::value);
}

void retry_job(const request_context& ctx, const admin_env& env) {
  ask_job(ctx, env, 202, true, actors::job_retry_atom::value,
          ctx.caller->actor());
}

} // namespace

void add_job_routes(route_table& routes,
                    const std::shared_ptr<const auth_context>& auth,
                    admin_backend backend) {
  add_admin_table(
    routes, auth, std::move(backend),
    {
      {"GET",
       "/api/v1/admin/jobs",
       list_jobs,
       {"Jobs in order of queueing, filtered by status or tag", "jobs.read",
        list_query({"status", "tag"})}},
      {"GET",
       "/api/v1/admin/jobs/{id}",
       get_job,
       {"One job: attempts with their errors, result", "jobs.read"}},
      {"POST",
       "/api/v1/admin/jobs/{id}/retry",
       retry_job,
       {"Queue a failed job again", "jobs.write", {}, false, 202}},
    });
}

} // namespace billow::api
