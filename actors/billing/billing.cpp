#include "actors/billing/billing.hpp"

#include <deque>
#include <optional>
#include <unordered_map>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/aggregate.hpp"
#include "actors/billing/event_fields.hpp"
#include "actors/billing/periods.hpp"
#include "actors/billing/renewals.hpp"
#include "actors/billing/settings.hpp"
#include "actors/clock.hpp"
#include "actors/uuid_hash.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"

namespace billow::billing {

namespace json = boost::json;
using events::uuid;

namespace {

constexpr auto writer_timeout = std::chrono::seconds(60);

caf::error bad(std::string detail) {
  return make_error(billow_errc::invalid_argument, std::move(detail));
}

caf::error refused(std::string detail) {
  return make_error(billow_errc::invalid_transition, std::move(detail));
}

caf::error not_found(std::string detail) {
  return make_error(billow_errc::not_found, std::move(detail));
}

/// The events of a stream, payloads parsed; an error only for a failed read.
template <class Fn>
caf::error fold_stream(const events::event_store& store,
                       const std::string& stream, Fn fn) {
  auto evs = store.read_stream(stream, 1, events::read_direction::forward,
                               SIZE_MAX);
  if (!evs)
    return evs.error();
  for (const auto& ev : *evs)
    fn(ev, actors::parse_object(ev.payload));
  return {};
}

// -- the series actor ---------------------------------------------------------

/// A unit that takes the next number of `series` for `invoice_id`: the
/// series actor fills `sequence` and `number` into event `event_index` of
/// request `request_index` (the `invoice.issued`).
struct number_request {
  std::vector<events::append_request> unit;
  std::string series;
  std::string format;
  int year = 0;
  std::string invoice_id;
  size_t request_index = 0;
  size_t event_index = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, number_request& x) {
  return f(x.unit, x.series, x.format, x.year, x.invoice_id, x.request_index,
           x.event_index);
}

struct number_result {
  events::append_result result;
  uint64_t sequence = 0;
  std::string number;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, number_result& x) {
  return f(x.result, x.sequence, x.number);
}

using series_actor = caf::typed_actor<
  caf::replies_to<number_atom, number_request>::with<number_result>>;

/// The head of one series as the series actor has handed it out: the
/// stream's version after every unit in flight.
struct series_head {
  bool loaded = false;
  uint64_t next = 0;
  /// Bumped when a unit failed and the head was read again, so the failures
  /// of the units sent before (which expected the old head) do not reload
  /// it once more.
  uint64_t generation = 0;
};

struct series_state {
  static inline const char* name = "billow.invoice_series";
  const actors::runtime_context* ctx = nullptr;
  std::unordered_map<std::string, series_head> heads;
};

using series_ptr = series_actor::stateful_pointer<series_state>;

std::string series_stream(std::string_view series) {
  return "series-" + std::string{series};
}

void submit_numbered(series_ptr self, std::shared_ptr<number_request> req,
                     caf::typed_response_promise<number_result> rp,
                     int retries) {
  auto& st = self->state;
  auto stream = series_stream(req->series);
  auto& head = st.heads[req->series];
  if (!head.loaded) {
    auto last = st.ctx->store->read_stream(stream, UINT64_MAX,
                                           events::read_direction::backward, 1);
    if (!last) {
      rp.deliver(last.error());
      return;
    }
    head.next = last->empty() ? 0 : last->front().version;
    head.loaded = true;
  }
  auto sequence = head.next + 1;
  auto number = format_number(req->format, sequence, req->year);
  auto unit = req->unit;
  auto& issued = unit.at(req->request_index).events.at(req->event_index);
  auto payload = actors::parse_object(issued.payload);
  payload["sequence"] = sequence;
  payload["number"] = number;
  issued.payload = json::serialize(payload);
  events::new_event taken;
  taken.event_id = actors::derive_uuid(stream, req->invoice_id, 0);
  taken.type = "series.number_taken";
  taken.actor = issued.actor;
  taken.correlation_id = issued.correlation_id;
  taken.payload = json::serialize(json::object{{"invoice_id", req->invoice_id},
                                               {"sequence", sequence},
                                               {"number", number}});
  unit.insert(unit.begin(),
              events::append_request{stream,
                                     events::expected_version::exact(head.next),
                                     {std::move(taken)}});
  head.next = sequence;
  auto generation = head.generation;
  self
    ->request(st.ctx->writer, writer_timeout, events::append_unit_atom::value,
              std::move(unit))
    .then(
      [self, req, rp, sequence,
       number](const events::append_result& r) mutable {
        if (r.duplicate) // stored before: the log's head is not ours
          self->state.heads[req->series].loaded = false;
        rp.deliver(number_result{r, sequence, number});
      },
      [self, req, rp, generation, retries](caf::error& err) mutable {
        auto& h = self->state.heads[req->series];
        if (h.generation == generation) {
          h.loaded = false;
          ++h.generation;
        }
        // Units sent after a failed one expected a head that was not
        // reached: they go again with the head as stored.
        if (errc_of(err) == billow_errc::wrong_expected_version && retries > 0)
          submit_numbered(self, req, rp, retries - 1);
        else
          rp.deliver(std::move(err));
      });
}

series_actor::behavior_type series_impl(series_ptr self,
                                        const actors::runtime_context* ctx) {
  self->state.ctx = ctx;
  return {
    [self](number_atom,
           number_request& req) -> caf::typed_response_promise<number_result> {
      auto rp = self->make_response_promise<number_result>();
      submit_numbered(self, std::make_shared<number_request>(std::move(req)),
                      rp, 3);
      return rp;
    },
  };
}

// -- the account actor --------------------------------------------------------

using account_actor = caf::typed_actor<
  caf::replies_to<billing_cmd_atom, billing_command>::with<billing_reply>>;

/// Where the number of a unit goes (see number_request).
struct number_slot {
  std::string series;
  std::string invoice_id;
  size_t request_index = 0;
  size_t event_index = 0;
  int year = 0;
  /// The series' number format in the terms the decision used.
  std::string format;
};

/// The number format of `series` in `terms` (the default when they name
/// none).
std::string format_of(const billing_terms& terms, std::string_view series) {
  auto f = terms.number_formats.find(series);
  return f != terms.number_formats.end() ? f->second
                                         : default_number_format(series);
}

/// What a decision writes, and what is answered once it is durable.
struct plan {
  std::vector<events::append_request> unit;
  std::optional<number_slot> number;
  /// The invoice to answer (empty: the account).
  std::string answer_invoice;
  bool created = false;
  /// (service, invoice) of orders this unit pays.
  std::vector<std::pair<std::string, std::string>> paid_orders;
};

struct account_actor_state {
  static inline const char* name = "billow.account";
  const actors::runtime_context* ctx = nullptr;
  std::shared_ptr<const billing_options> opts;
  series_actor series;
  std::string client_id;
  bool loaded = false;
  account_state account;
  /// The client stream's version applied to `account`: the client stream is
  /// written by the client routes (an update, an erasure), so each command
  /// first applies what is new in it.
  uint64_t client_version = 0;
  std::unordered_map<std::string, invoice_state> invoices;
  bool busy = false;
  std::deque<
    std::pair<billing_command, caf::typed_response_promise<billing_reply>>>
    waiting;
};

using account_ptr = account_actor::stateful_pointer<account_actor_state>;

std::string account_stream(const std::string& client) {
  return "account-" + client;
}

std::string invoice_stream(const std::string& id) {
  return "invoice-" + id;
}

/// Builds the unit of one command: one request per stream, event ids
/// derived from the command's identity so a repeat stores nothing.
class unit_builder {
public:
  unit_builder(plan& p, const billing_command& cmd, std::string identity)
    : plan_(p), cmd_(cmd), identity_(std::move(identity)) {}

  /// Adds an event to `stream`, which is at `version` now; answers its index
  /// in the stream's request.
  size_t add(const std::string& stream, uint64_t version, std::string type,
             json::object payload) {
    auto* req = find(stream);
    if (req == nullptr) {
      plan_.unit.push_back(events::append_request{
        stream, events::expected_version::exact(version), {}});
      req = &plan_.unit.back();
    }
    events::new_event ev;
    ev.event_id = actors::derive_uuid(stream, identity_, req->events.size());
    ev.type = std::move(type);
    ev.actor = cmd_.actor.empty() ? "system" : cmd_.actor;
    ev.correlation_id = cmd_.correlation_id;
    ev.payload = json::serialize(payload);
    req->events.push_back(std::move(ev));
    return req->events.size() - 1;
  }

  size_t index_of(const std::string& stream) const {
    for (size_t i = 0; i < plan_.unit.size(); ++i)
      if (plan_.unit[i].stream == stream)
        return i;
    return plan_.unit.size();
  }

  /// A fresh id derived from the command (a ledger entry, a new invoice).
  std::string derived_id(std::string_view what) const {
    return events::to_string(actors::derive_uuid(identity_, what, 0));
  }

private:
  events::append_request* find(const std::string& stream) {
    for (auto& r : plan_.unit)
      if (r.stream == stream)
        return &r;
    return nullptr;
  }

  plan& plan_;
  const billing_command& cmd_;
  std::string identity_;
};

caf::error load_account(account_ptr self) {
  auto& st = self->state;
  st.account = account_state{};
  st.account.client_id = st.client_id;
  st.invoices.clear();
  bool client_found = false;
  if (auto err
      = fold_stream(*st.ctx->store, "client-" + st.client_id,
                    [&](const events::envelope& ev, const json::object& p) {
                      client_found = true;
                      account_state::apply_client(st.account, ev.type, p);
                    }))
    return err;
  if (!client_found)
    return not_found("No client " + st.client_id + ".");
  if (auto err
      = fold_stream(*st.ctx->store, account_stream(st.client_id),
                    [&](const events::envelope& ev, const json::object& p) {
                      account_state::apply(st.account, ev.type, p);
                      st.account.version = ev.version;
                    }))
    return err;
  st.loaded = true;
  return {};
}

/// Applies what the client's stream got since the last command.
caf::error catch_up_client(account_ptr self) {
  auto& st = self->state;
  auto evs = st.ctx->store->read_stream("client-" + st.client_id,
                                        st.client_version + 1,
                                        events::read_direction::forward,
                                        SIZE_MAX);
  if (!evs)
    return evs.error();
  for (const auto& ev : *evs) {
    account_state::apply_client(st.account, ev.type,
                                actors::parse_object(ev.payload));
    st.client_version = ev.version;
  }
  return {};
}

/// The invoice `id` of this client, read from the log when not cached.
caf::expected<invoice_state*> invoice_of(account_ptr self,
                                         const std::string& id) {
  auto& st = self->state;
  if (auto i = st.invoices.find(id); i != st.invoices.end())
    return &i->second;
  invoice_state inv;
  inv.id = id;
  if (auto err
      = fold_stream(*st.ctx->store, invoice_stream(id),
                    [&](const events::envelope& ev, const json::object& p) {
                      invoice_state::apply(inv, ev.type, p);
                      inv.version = ev.version;
                      if (inv.created_us == 0)
                        inv.created_us = ev.time_us;
                      inv.updated_us = ev.time_us;
                    }))
    return err;
  if (inv.version == 0 || inv.client_id != st.client_id)
    return not_found("No invoice " + id + ".");
  return &st.invoices.emplace(id, std::move(inv)).first->second;
}

int64_t now_us(account_ptr self) {
  return actors::to_us(self->state.ctx->clock->now());
}

// -- decisions ----------------------------------------------------------------

/// A ledger entry on the account (the balance after it included).
void add_ledger(unit_builder& b, const account_state& acc, int64_t& balance,
                const std::string& kind, int64_t amount,
                const std::string& description, const std::string& invoice_id,
                const std::string& reason, uint64_t account_version,
                size_t nth) {
  balance += amount;
  json::object p{{"entry_id", b.derived_id("entry" + std::to_string(nth))},
                 {"type", kind},
                 {"currency", acc.currency},
                 {"amount", amount},
                 {"balance_after", balance},
                 {"description", description}};
  if (!invoice_id.empty())
    p["invoice_id"] = invoice_id;
  if (!reason.empty())
    p["reason"] = reason;
  b.add(account_stream(acc.client_id), account_version, ledger_event_type(kind),
        std::move(p));
}

/// The events that issue the draft `inv` (its number comes from the series
/// actor), then pay it from the balance when the settings say so.
caf::error decide_issue(account_ptr self, unit_builder& b, plan& p,
                        const invoice_state& inv, uint64_t invoice_version,
                        const billing_terms& terms, int64_t& balance,
                        size_t& entries) {
  auto& acc = self->state.account;
  if (!terms.totals)
    return make_error(billow_errc::internal, "no tax engine");
  auto totals = terms.totals(inv.items, acc);
  if (!totals)
    return totals.error();
  if (totals->total < 0)
    return bad("items: the invoice's total must not be negative");
  auto now = now_us(self);
  auto today = date_of(now);
  json::array taxes;
  for (const auto& t : totals->taxes)
    taxes.push_back(json::object{
      {"name", t.name}, {"rate", format_rate(t.r)}, {"amount", t.amount}});
  auto series = std::string{to_string(inv.type)};
  json::object issued{{"series", series},
                      {"issue_date", today},
                      {"due_date", inv.due_date.empty() ? today : inv.due_date},
                      {"subtotal", totals->subtotal},
                      {"taxes", std::move(taxes)},
                      {"total", totals->total},
                      {"reverse_charge", totals->reverse_charge},
                      {"seller", terms.seller},
                      {"buyer", acc.buyer()}};
  auto stream = invoice_stream(inv.id);
  auto at = b.add(stream, invoice_version, "invoice.issued", std::move(issued));
  p.number = number_slot{series, inv.id,         b.index_of(stream),
                         at,     year_of(today), format_of(terms, series)};
  auto version = invoice_version;
  // Paid at once: nothing to pay, or the balance covers some of it.
  int64_t credit = 0;
  if (inv.type == invoice_type::invoice && terms.apply_credit && balance > 0)
    credit = std::min(balance, totals->total);
  if (credit > 0) {
    auto entry = b.derived_id("entry" + std::to_string(entries));
    b.add(
      stream, version, "invoice.credit_applied",
      json::object{{"amount", credit}, {"entry_id", entry}, {"time_us", now}});
    add_ledger(b, acc, balance, "charge", -credit, "Credit applied to invoice",
               inv.id, "", acc.version, entries++);
  }
  if (inv.type != invoice_type::credit_note && credit == totals->total) {
    b.add(stream, version, "invoice.paid", json::object{{"paid_date", today}});
    if (inv.purpose == "order" && !inv.service_id.empty())
      p.paid_orders.emplace_back(inv.service_id, inv.id);
  }
  return {};
}

/// The money field `key` of `body` in `currency` (an API string such as
/// "12.50"); `fallback` when absent and not `required`. Errors name the
/// field: `amount: must have exactly 2 decimals for EUR, such as "12.50"`.
caf::expected<int64_t> money_at(const json::object& body, std::string_view key,
                                const std::string& currency,
                                std::optional<int64_t> fallback = {},
                                std::string_view path = {}) {
  auto name = path.empty() ? std::string{key} : std::string{path};
  auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (fallback)
      return *fallback;
    return bad(name + ": is required");
  }
  auto amount = parse_money_field(*v, currency);
  if (!amount)
    return bad(name + ": " + detail_of(amount.error()));
  return amount;
}

/// The items of an invoice body, amounts in the client's currency.
caf::expected<std::vector<invoice_item>> items_of(const json::object& body,
                                                  const std::string& currency) {
  std::vector<invoice_item> items;
  auto* v = body.if_contains("items");
  if (v == nullptr || !v->is_array() || v->as_array().empty())
    return bad("items: must hold at least one item");
  size_t n = 0;
  for (const auto& i : v->as_array()) {
    auto path = "items[" + std::to_string(n++) + "]";
    if (!i.is_object())
      return bad(path + ": must be an object");
    auto item = item_from_event(i.as_object());
    auto amount = money_at(i.as_object(), "amount", currency, {},
                           path + ".amount");
    if (!amount)
      return amount.error();
    item.amount = *amount;
    items.push_back(std::move(item));
  }
  return items;
}

/// The items of an order's first invoice: `{service_id, product_name,
/// period, amount, setup_fee?}` (the product's price in the client's
/// currency) as the first period from `today` and the setup fee.
caf::expected<std::vector<invoice_item>>
order_items(const json::object& body, const std::string& currency,
            const std::string& today) {
  auto amount = money_at(body, "amount", currency);
  if (!amount)
    return amount.error();
  auto setup = money_at(body, "setup_fee", currency, int64_t{0});
  if (!setup)
    return setup.error();
  auto period = text_at(body, "period");
  auto name = text_at(body, "product_name");
  invoice_item first;
  first.description = renewal_description(name, period);
  first.service_id = text_at(body, "service_id");
  first.amount = *amount;
  if (is_calendar_period(period)) {
    auto end = period_end(today, period, 0);
    if (!end)
      return end.error();
    first.period_from = today;
    first.period_to = *end;
  }
  std::vector<invoice_item> items{std::move(first)};
  if (*setup != 0)
    items.push_back(invoice_item{
      "Setup fee: " + name, text_at(body, "service_id"), "", "", *setup, true});
  return items;
}

json::object drafted_payload(const invoice_state& inv) {
  json::array items;
  for (const auto& i : inv.items)
    items.push_back(item_to_event(i));
  json::object p{{"client_id", inv.client_id},
                 {"type", to_string(inv.type)},
                 {"currency", inv.currency},
                 {"purpose", inv.purpose},
                 {"items", std::move(items)}};
  if (!inv.service_id.empty())
    p["service_id"] = inv.service_id;
  if (!inv.due_date.empty())
    p["due_date"] = inv.due_date;
  if (!inv.refers_to.empty()) {
    p["refers_to"] = inv.refers_to;
    p["refers_to_number"] = inv.refers_to_number;
  }
  return p;
}

/// Drafts `inv` (a new invoice stream) and, with `issue`, issues it in the
/// same unit.
caf::error decide_new_invoice(account_ptr self, unit_builder& b, plan& p,
                              invoice_state inv, bool issue,
                              const billing_terms& terms, int64_t& balance,
                              size_t& entries) {
  auto stream = invoice_stream(inv.id);
  b.add(stream, 0, "invoice.drafted", drafted_payload(inv));
  p.answer_invoice = inv.id;
  p.created = true;
  if (!issue)
    return {};
  inv.status = invoice_status::draft;
  return decide_issue(self, b, p, inv, 0, terms, balance, entries);
}

/// Decides `cmd`; an empty unit means the answer is the state as it is.
caf::expected<plan> decide(account_ptr self, const billing_command& cmd,
                           const json::object& body) {
  auto& st = self->state;
  auto& acc = st.account;
  plan p;
  auto identity = !cmd.idempotency_key.empty()
    ? cmd.idempotency_key
    : events::to_string(uuid::random());
  auto inv_id = events::to_string(cmd.invoice_id);
  // A payment is itself by its invoice and transaction: the same
  // transaction on another invoice of the client is another payment (its
  // ledger entries and receipt must not collide with the first's).
  if (cmd.op == "invoice.pay")
    identity = "payment:" + inv_id + '\0' + text_at(body, "gateway") + '\0'
      + text_at(body, "transaction_id");
  unit_builder b{p, cmd, identity};
  auto balance = acc.balance;
  auto entries = static_cast<size_t>(acc.entries);
  const auto& op = cmd.op;
  if (op == "account.get")
    return p;
  if (op == "account.update") {
    if (cmd.expected_version >= 0
        && static_cast<uint64_t>(cmd.expected_version) != acc.version)
      return make_error(billow_errc::wrong_expected_version,
                        "the account is at version "
                          + std::to_string(acc.version));
    json::object changes;
    for (const auto& [k, v] : body) {
      if (k == "credit_limit") {
        auto parsed = money_at(body, "credit_limit", acc.currency);
        if (!parsed)
          return parsed.error();
        auto limit = *parsed;
        if (limit < 0)
          return bad("credit_limit: must not be negative");
        if (acc.balance < -limit)
          return make_error(
            billow_errc::insufficient_funds,
            "credit_limit: the balance is below minus the new limit");
        if (limit != acc.credit_limit)
          changes["credit_limit_minor"] = limit;
      } else if (k == "billing_mode"
                 && text_at(body, "billing_mode") != acc.billing_mode) {
        changes[k] = v;
      } else if (k == "country" && text_at(body, "country") != acc.country) {
        changes[k] = v;
      } else if (k == "tax_id" && text_at(body, "tax_id") != acc.tax_id) {
        changes[k] = v;
      } else if (k == "tax_exempt" && v.is_bool()
                 && v.as_bool() != acc.tax_exempt) {
        changes[k] = v;
      }
    }
    if (!changes.empty()) {
      changes["currency"] = acc.currency;
      b.add(account_stream(acc.client_id), acc.version, "account.updated",
            std::move(changes));
    }
    return p;
  }
  if (op == "account.adjust") {
    auto parsed = money_at(body, "amount", acc.currency);
    if (!parsed)
      return parsed.error();
    auto amount = *parsed;
    if (amount == 0)
      return bad("amount: must not be zero");
    if (amount < 0 && balance + amount < -acc.credit_limit)
      return make_error(billow_errc::insufficient_funds,
                        "amount: the debit would take the balance below "
                        "minus the credit limit");
    add_ledger(b, acc, balance, "adjustment", amount, text_at(body, "reason"),
               "", text_at(body, "reason"), acc.version, entries++);
    return p;
  }
  // The settings and tax rules (two stream reads), only for a command that
  // issues or numbers something, and once.
  std::optional<billing_terms> read_terms;
  auto terms = [&]() -> const billing_terms& {
    if (!read_terms) {
      read_terms = st.opts->terms ? st.opts->terms() : billing_terms{};
      if (!read_terms->totals)
        read_terms->totals = untaxed_totals;
    }
    return *read_terms;
  };
  if (op == "invoice.create" || op == "invoice.order" || op == "invoice.renewal"
      || op == "add_funds") {
    if (auto existing = invoice_of(self, inv_id)) { // a repeat
      p.answer_invoice = inv_id;
      return p;
    }
    if (acc.erased)
      return refused("The client is erased: it cannot be invoiced.");
    // A prepaid client's order is charged from its balance (the billing
    // clock's issue), not invoiced: the answer is the account.
    if ((op == "invoice.order" || op == "invoice.renewal")
        && acc.billing_mode == "prepaid")
      return p;
    invoice_state inv;
    inv.id = inv_id;
    inv.client_id = acc.client_id;
    inv.currency = acc.currency;
    if (op == "add_funds") {
      auto parsed = money_at(body, "amount", acc.currency);
      if (!parsed)
        return parsed.error();
      auto amount = *parsed;
      if (amount <= 0)
        return bad("amount: must be more than zero");
      inv.type = invoice_type::proforma;
      inv.purpose = "add_funds";
      inv.items.push_back(invoice_item{"Add funds to the account balance", "",
                                       "", "", amount, false});
    } else if (op == "invoice.order") {
      // The first period from today and the setup fee, due now.
      auto items = order_items(body, acc.currency, date_of(now_us(self)));
      if (!items)
        return items.error();
      inv.items = std::move(*items);
      inv.service_id = text_at(body, "service_id");
      inv.purpose = "order";
    } else if (op == "invoice.renewal") {
      // The period the billing run names, due when it begins.
      auto items = order_items(body, acc.currency,
                               text_at(body, "period_from"));
      if (!items)
        return items.error();
      // The period is the run's (from the anchor), not one from its start.
      items->front().period_to = text_at(body, "period_to");
      inv.items = std::move(*items);
      inv.service_id = text_at(body, "service_id");
      inv.due_date = text_at(body, "due_date");
      inv.purpose = "renewal";
    } else {
      auto items = items_of(body, acc.currency);
      if (!items)
        return items.error();
      inv.items = std::move(*items);
      inv.due_date = text_at(body, "due_date");
      inv.service_id = text_at(body, "service_id");
      inv.purpose = op == "invoice.order" ? "order" : "manual";
      if (auto type = text_at(body, "type"); !type.empty())
        parse_invoice_type(type, inv.type);
    }
    if (auto err = decide_new_invoice(self, b, p, std::move(inv),
                                      op != "invoice.create", terms(), balance,
                                      entries))
      return err;
    return p;
  }
  // The rest works on an existing invoice of this client.
  auto found = invoice_of(self, inv_id);
  if (!found)
    return found.error();
  auto& inv = **found;
  p.answer_invoice = inv.id;
  auto stream = invoice_stream(inv.id);
  if (cmd.expected_version >= 0
      && static_cast<uint64_t>(cmd.expected_version) != inv.version)
    return make_error(billow_errc::wrong_expected_version,
                      "the invoice is at version "
                        + std::to_string(inv.version));
  auto now = now_us(self);
  auto today = date_of(now);
  if (op == "invoice.get")
    return p;
  if (op == "invoice.issue") {
    if (inv.status != invoice_status::draft)
      return refused("Only a draft can be issued; this invoice is "
                     + std::string{to_string(inv.status)} + ".");
    if (auto err = decide_issue(self, b, p, inv, inv.version, terms(), balance,
                                entries))
      return err;
    return p;
  }
  if (op == "invoice.cancel") {
    if (inv.status == invoice_status::cancelled)
      return p;
    if (inv.status != invoice_status::draft
        && !(inv.status == invoice_status::unpaid && inv.amount_paid == 0
             && inv.credit_applied == 0))
      return refused("Only a draft or an unpaid invoice without payments can "
                     "be cancelled; this one is "
                     + std::string{to_string(inv.status)}
                     + (inv.status == invoice_status::unpaid
                          ? " with payments (refund them)."
                          : "."));
    b.add(stream, inv.version, "invoice.cancelled",
          json::object{{"reason", text_at(body, "reason")}});
    return p;
  }
  if (op == "invoice.pay") {
    auto gateway = text_at(body, "gateway");
    auto txn = text_at(body, "transaction_id");
    if (inv.find_payment(gateway, txn) != nullptr)
      return p; // the same payment again: its first answer
    if (inv.type == invoice_type::credit_note)
      return refused("A credit note is not paid.");
    if (inv.status != invoice_status::unpaid)
      return refused("The invoice is " + std::string{to_string(inv.status)}
                     + ": it takes no payment.");
    if (auto currency = text_at(body, "currency");
        !currency.empty() && currency != inv.currency)
      return bad("currency: must be " + inv.currency
                 + ", the invoice's currency");
    auto parsed = money_at(body, "amount", inv.currency);
    if (!parsed)
      return parsed.error();
    auto amount = *parsed;
    auto fee = money_at(body, "fee", inv.currency, int64_t{0});
    if (!fee)
      return fee.error();
    if (amount <= 0)
      return bad("amount: must be more than zero");
    auto due = inv.amount_due();
    auto applied = std::min(amount, due);
    auto excess = amount - applied;
    b.add(stream, inv.version, "invoice.payment_recorded",
          json::object{{"amount", amount},
                       {"applied", applied},
                       {"gateway", gateway},
                       {"transaction_id", txn},
                       {"fee", *fee},
                       {"time_us", now}});
    bool paid = applied == due;
    if (inv.type == invoice_type::proforma) {
      // Add funds: the money goes to the balance; once paid in full, a paid
      // invoice with its own number is issued for it.
      add_ledger(b, acc, balance, "payment", amount,
                 "Payment of proforma " + inv.number, inv.id, "", acc.version,
                 entries++);
      if (paid) {
        invoice_state receipt;
        receipt.id = b.derived_id("receipt");
        receipt.client_id = acc.client_id;
        receipt.currency = inv.currency;
        receipt.purpose = "add_funds_paid";
        receipt.items = inv.items;
        auto rstream = invoice_stream(receipt.id);
        b.add(rstream, 0, "invoice.drafted", drafted_payload(receipt));
        auto no_credit = terms();
        no_credit.apply_credit = false;
        int64_t unused_balance = 0;
        if (auto err = decide_issue(self, b, p, receipt, 0, no_credit,
                                    unused_balance, entries))
          return err;
        // decide_issue marked it paid when its total is 0; else pay it by
        // the proforma's payment.
        if (inv.total > 0) {
          b.add(rstream, 0, "invoice.payment_recorded",
                json::object{{"amount", inv.total},
                             {"applied", inv.total},
                             {"gateway", gateway},
                             {"transaction_id", txn},
                             {"time_us", now}});
          b.add(rstream, 0, "invoice.paid", json::object{{"paid_date", today}});
        }
        b.add(stream, inv.version, "invoice.paid",
              json::object{{"paid_date", today}, {"invoice_id", receipt.id}});
      }
      return p;
    }
    if (excess > 0)
      add_ledger(b, acc, balance, "credit", excess,
                 "Overpayment of invoice " + inv.number, inv.id, "",
                 acc.version, entries++);
    if (paid) {
      b.add(stream, inv.version, "invoice.paid",
            json::object{{"paid_date", today}});
      if (inv.purpose == "order" && !inv.service_id.empty())
        p.paid_orders.emplace_back(inv.service_id, inv.id);
    }
    return p;
  }
  if (op == "invoice.apply_credit") {
    if (inv.type != invoice_type::invoice)
      return refused("Credit pays invoices only.");
    if (inv.status != invoice_status::unpaid)
      return refused("The invoice is " + std::string{to_string(inv.status)}
                     + ".");
    auto due = inv.amount_due();
    auto parsed = money_at(body, "amount", inv.currency, due);
    if (!parsed)
      return parsed.error();
    auto amount = *parsed;
    if (amount <= 0 || amount > due)
      return bad("amount: must be more than zero and at most the amount due");
    if (balance - amount < -acc.credit_limit)
      return make_error(billow_errc::insufficient_funds,
                        "The balance (with the credit limit) does not cover "
                        "the amount.");
    auto entry = b.derived_id("entry" + std::to_string(entries));
    b.add(
      stream, inv.version, "invoice.credit_applied",
      json::object{{"amount", amount}, {"entry_id", entry}, {"time_us", now}});
    add_ledger(b, acc, balance, "charge", -amount,
               "Credit applied to invoice " + inv.number, inv.id, "",
               acc.version, entries++);
    if (amount == due) {
      b.add(stream, inv.version, "invoice.paid",
            json::object{{"paid_date", today}});
      if (inv.purpose == "order" && !inv.service_id.empty())
        p.paid_orders.emplace_back(inv.service_id, inv.id);
    }
    return p;
  }
  if (op == "invoice.refund") {
    auto note_id = text_at(body, "credit_note_id");
    if (auto done = invoice_of(self, note_id)) { // a repeat
      p.answer_invoice = note_id;
      return p;
    }
    if (inv.type != invoice_type::invoice)
      return refused("Only an invoice is refunded.");
    auto parsed = money_at(body, "amount", inv.currency);
    if (!parsed)
      return parsed.error();
    auto amount = *parsed;
    if (amount <= 0)
      return bad("amount: must be more than zero");
    if (amount > inv.refundable()) {
      const auto* cur = find_currency(inv.currency);
      return bad("amount: is more than what was paid and not yet refunded ("
                 + (cur ? format_amount(inv.refundable(), *cur)
                        : std::to_string(inv.refundable()))
                 + ")");
    }
    auto method = text_at(body, "method");
    if (method == "gateway")
      return refused("No payment of this invoice was taken by a payment "
                     "gateway that can refund; refund with method \"credit\" "
                     "(to the balance) or \"record\" (paid back outside "
                     "Billow).");
    // The credit note splits the amount like the invoice's total (net and
    // each tax), so its parts add up to it exactly.
    std::vector<int64_t> weights{inv.subtotal};
    for (const auto& t : inv.taxes)
      weights.push_back(t.amount);
    bool any_weight = false;
    for (auto w : weights)
      any_weight = any_weight || w > 0;
    std::vector<int64_t> parts;
    if (any_weight) {
      for (auto& w : weights)
        w = std::max<int64_t>(w, 0);
      auto split = allocate(amount, weights);
      if (!split)
        return split.error();
      parts = std::move(*split);
    } else {
      parts.assign(weights.size(), 0);
      parts[0] = amount;
    }
    invoice_state note;
    note.id = note_id;
    note.client_id = acc.client_id;
    note.type = invoice_type::credit_note;
    note.currency = inv.currency;
    note.purpose = "refund";
    note.refers_to = inv.id;
    note.refers_to_number = inv.number;
    auto reason = text_at(body, "reason");
    note.items.push_back(invoice_item{"Refund of invoice " + inv.number
                                        + (reason.empty() ? "" : ": " + reason),
                                      "", "", "", parts[0], false});
    auto nstream = invoice_stream(note.id);
    b.add(nstream, 0, "invoice.drafted", drafted_payload(note));
    json::array taxes;
    for (size_t i = 0; i < inv.taxes.size(); ++i)
      taxes.push_back(json::object{{"name", inv.taxes[i].name},
                                   {"rate", format_rate(inv.taxes[i].r)},
                                   {"amount", parts[i + 1]}});
    auto at = b.add(nstream, 0, "invoice.issued",
                    json::object{{"series", "credit_note"},
                                 {"issue_date", today},
                                 {"due_date", today},
                                 {"subtotal", parts[0]},
                                 {"taxes", std::move(taxes)},
                                 {"total", amount},
                                 {"reverse_charge", inv.reverse_charge},
                                 {"seller", inv.seller},
                                 {"buyer", inv.buyer}});
    p.number
      = number_slot{"credit_note",       note.id,
                    b.index_of(nstream), at,
                    year_of(today),      format_of(terms(), "credit_note")};
    b.add(stream, inv.version, "invoice.refunded",
          json::object{{"credit_note_id", note.id},
                       {"amount", amount},
                       {"method", method},
                       {"reason", reason},
                       {"time_us", now}});
    // Settled as it is issued: the money went back (or to the balance).
    b.add(nstream, 0, "invoice.paid", json::object{{"paid_date", today}});
    if (method == "credit")
      add_ledger(b, acc, balance, "credit", amount,
                 "Refund of invoice " + inv.number + " to the balance", inv.id,
                 reason, acc.version, entries++);
    p.answer_invoice = note.id;
    p.created = true;
    return p;
  }
  return bad("op: unknown billing command " + op);
}

/// Applies a durable unit to the actor's states.
void apply_unit(account_ptr self,
                const std::vector<events::append_request>& unit,
                const number_result* numbered) {
  auto& st = self->state;
  auto t = now_us(self);
  for (const auto& req : unit) {
    if (req.stream == account_stream(st.client_id)) {
      for (const auto& ev : req.events) {
        account_state::apply(st.account, ev.type,
                             actors::parse_object(ev.payload));
        ++st.account.version;
      }
      continue;
    }
    if (!req.stream.starts_with("invoice-"))
      continue;
    auto id = req.stream.substr(8);
    auto& inv = st.invoices[id];
    if (inv.id.empty()) {
      inv.id = id;
      inv.created_us = t;
    }
    for (const auto& ev : req.events) {
      auto payload = actors::parse_object(ev.payload);
      if (numbered != nullptr && ev.type == "invoice.issued") {
        if (!payload.contains("sequence")) {
          payload["sequence"] = numbered->sequence;
          payload["number"] = numbered->number;
        }
      }
      invoice_state::apply(inv, ev.type, payload);
      ++inv.version;
      inv.updated_us = t;
    }
  }
}

void run_next(account_ptr self);

void answer(account_ptr self, const plan& p,
            caf::typed_response_promise<billing_reply> rp, uint64_t position,
            bool duplicate) {
  auto& st = self->state;
  billing_reply r;
  r.position = position;
  r.duplicate = duplicate;
  r.created = p.created && !duplicate;
  if (p.answer_invoice.empty()) {
    r.body = json::serialize(st.account.to_json());
  } else if (auto inv = invoice_of(self, p.answer_invoice)) {
    r.body = json::serialize((*inv)->to_json());
  } else {
    rp.deliver(inv.error());
    return;
  }
  rp.deliver(std::move(r));
}

void finish_command(account_ptr self) {
  self->state.busy = false;
  run_next(self);
}

/// Ends a failed command: the states are read again from the log (the unit
/// may or may not be stored), and the error is answered.
void fail_command(account_ptr self,
                  caf::typed_response_promise<billing_reply>& rp,
                  caf::error err) {
  self->state.loaded = false;
  rp.deliver(std::move(err));
  finish_command(self);
}

void run(account_ptr self, billing_command& cmd,
         caf::typed_response_promise<billing_reply> rp) {
  auto& st = self->state;
  if (!st.loaded) {
    if (auto err = load_account(self))
      return fail_command(self, rp, std::move(err));
  } else if (auto err = catch_up_client(self)) {
    return fail_command(self, rp, std::move(err));
  }
  if (!cmd.owner.is_nil() && events::to_string(cmd.owner) != st.client_id)
    return fail_command(
      self, rp,
      not_found(cmd.invoice_id.is_nil()
                  ? "No such account."
                  : "No invoice " + events::to_string(cmd.invoice_id) + "."));
  auto body = actors::parse_object(cmd.body);
  auto decided = decide(self, cmd, body);
  if (!decided) {
    rp.deliver(std::move(decided.error()));
    return finish_command(self);
  }
  auto p = std::make_shared<plan>(std::move(*decided));
  if (p->unit.empty()) {
    answer(self, *p, rp, 0, true);
    return finish_command(self);
  }
  auto done = [self, p, rp](const events::append_result& r,
                            const number_result* numbered) mutable {
    if (r.duplicate) {
      // Stored before (a retry after a crash): the log says what happened.
      self->state.loaded = false;
      if (auto err = load_account(self))
        return fail_command(self, rp, std::move(err));
    } else {
      apply_unit(self, p->unit, numbered);
    }
    for (const auto& [service, invoice] : p->paid_orders)
      if (self->state.opts->on_order_paid)
        self->state.opts->on_order_paid(service, invoice);
    answer(self, *p, rp, r.last_position, r.duplicate);
    finish_command(self);
  };
  auto failed = [self, rp](caf::error& err) mutable {
    fail_command(self, rp, std::move(err));
  };
  if (p->number) {
    number_request req;
    req.unit = p->unit;
    req.series = p->number->series;
    req.format = p->number->format;
    req.year = p->number->year;
    req.invoice_id = p->number->invoice_id;
    req.request_index = p->number->request_index;
    req.event_index = p->number->event_index;
    self->request(st.series, writer_timeout, number_atom::value, std::move(req))
      .then(
        [done](const number_result& nr) mutable {
          done(nr.result, &nr);
        },
        failed);
    return;
  }
  if (p->unit.size() == 1) {
    auto& req = p->unit.front();
    self
      ->request(st.ctx->writer, writer_timeout, events::append_atom::value,
                req.stream, req.expected, req.events)
      .then(
        [done](const events::append_result& r) mutable {
          done(r, nullptr);
        },
        failed);
    return;
  }
  self
    ->request(st.ctx->writer, writer_timeout, events::append_unit_atom::value,
              p->unit)
    .then(
      [done](const events::append_result& r) mutable {
        done(r, nullptr);
      },
      failed);
}

void run_next(account_ptr self) {
  auto& st = self->state;
  if (st.busy || st.waiting.empty())
    return;
  st.busy = true;
  auto [cmd, rp] = std::move(st.waiting.front());
  st.waiting.pop_front();
  run(self, cmd, std::move(rp));
}

account_actor::behavior_type
account_impl(account_ptr self, const actors::runtime_context* ctx,
             std::shared_ptr<const billing_options> opts, series_actor series,
             std::string client_id) {
  auto& st = self->state;
  st.ctx = ctx;
  st.opts = std::move(opts);
  st.series = std::move(series);
  st.client_id = std::move(client_id);
  return {
    [self](billing_cmd_atom,
           billing_command& cmd) -> caf::typed_response_promise<billing_reply> {
      auto rp = self->make_response_promise<billing_reply>();
      self->state.waiting.emplace_back(std::move(cmd), rp);
      run_next(self);
      return rp;
    },
  };
}

// -- the registry -------------------------------------------------------------

struct registry_state {
  static inline const char* name = "billow.billing_registry";
  const actors::runtime_context* ctx = nullptr;
  std::shared_ptr<const billing_options> opts;
  series_actor series;
  std::unordered_map<uuid, account_actor, actors::uuid_hash> live;
  /// Invoice -> client, learnt from each invoice's first event.
  std::unordered_map<uuid, uuid, actors::uuid_hash> owners;
};

using registry_ptr = billing_registry_actor::stateful_pointer<registry_state>;

/// The client of invoice `id` (its `invoice.drafted`), nil when unknown.
caf::expected<uuid> owner_of(registry_ptr self, const uuid& id) {
  auto& st = self->state;
  if (auto i = st.owners.find(id); i != st.owners.end())
    return i->second;
  auto first = st.ctx->store->read_stream(invoice_stream(events::to_string(id)),
                                          1, events::read_direction::forward,
                                          1);
  if (!first)
    return first.error();
  if (first->empty())
    return uuid{};
  auto client = actors::json_uuid(actors::parse_object(first->front().payload),
                                  "client_id");
  if (st.owners.size() > 1'000'000)
    st.owners.clear();
  st.owners.emplace(id, client);
  return client;
}

} // namespace

std::string default_number_format(std::string_view series) {
  if (series == "proforma")
    return "PRO-{YYYY}-{NNNNNN}";
  if (series == "credit_note")
    return "CN-{YYYY}-{NNNNNN}";
  return "INV-{YYYY}-{NNNNNN}";
}

caf::expected<computed_totals>
untaxed_totals(const std::vector<invoice_item>& items, const account_state&) {
  computed_totals out;
  for (const auto& i : items) {
    auto sum = checked_add(out.subtotal, i.amount);
    if (!sum)
      return sum.error();
    out.subtotal = *sum;
  }
  out.total = out.subtotal;
  return out;
}

billing_registry_actor make_billing_registry(caf::actor_system& sys,
                                             const actors::runtime_context& ctx,
                                             billing_options opts) {
  auto shared = std::make_shared<const billing_options>(std::move(opts));
  auto series = sys.spawn(series_impl, &ctx);
  // The state comes in as arguments, not captures: CAF 0.17 spawns a
  // function without arguments through a null argument pointer, which
  // UBSan reports.
  return sys.spawn(
    [](registry_ptr self, const actors::runtime_context* cx,
       std::shared_ptr<const billing_options> shared,
       series_actor series) -> billing_registry_actor::behavior_type {
      self->state.ctx = cx;
      self->state.opts = shared;
      self->state.series = series;
      self->link_to(series);
      return {
        [self](billing_cmd_atom,
               billing_command& cmd) -> caf::delegated<billing_reply> {
          auto& st = self->state;
          auto client = cmd.client_id;
          if (client.is_nil()) {
            auto owner = owner_of(self, cmd.invoice_id);
            if (!owner || owner->is_nil()) {
              auto rp = self->make_response_promise<billing_reply>();
              rp.deliver(owner ? not_found("No invoice "
                                           + events::to_string(cmd.invoice_id)
                                           + ".")
                               : owner.error());
              return {};
            }
            client = *owner;
          }
          auto& a = st.live[client];
          if (!a)
            a = self->spawn<caf::linked>(account_impl, st.ctx, st.opts,
                                         st.series, events::to_string(client));
          return self->delegate(a, billing_cmd_atom::value, std::move(cmd));
        },
      };
    },
    &ctx, shared, series);
}

} // namespace billow::billing
