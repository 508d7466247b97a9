#include "api/pending_answers.hpp"

namespace billow::api {

uint64_t pending_answers::add(request_context ctx, clock::time_point deadline) {
  auto ticket = ++next_ticket_;
  waiting_.emplace_hint(waiting_.end(), ticket,
                        entry{deadline, std::move(ctx)});
  if (on_add_)
    on_add_();
  return ticket;
}

std::optional<request_context> pending_answers::take(uint64_t ticket) {
  auto i = waiting_.find(ticket);
  if (i == waiting_.end())
    return std::nullopt;
  auto ctx = std::move(i->second.ctx);
  waiting_.erase(i);
  return ctx;
}

std::vector<request_context> pending_answers::expire(clock::time_point now) {
  std::vector<request_context> out;
  while (!waiting_.empty() && waiting_.begin()->second.deadline < now) {
    out.push_back(std::move(waiting_.begin()->second.ctx));
    waiting_.erase(waiting_.begin());
  }
  return out;
}

} // namespace billow::api
