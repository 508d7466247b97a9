#include "api/idempotency.hpp"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <sodium.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "api/problem.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

/// What makes two requests "the same": method, target and body, in a keyed
/// BLAKE2b hash.
std::string fingerprint(const http_request& req, const std::string& key) {
  crypto_generichash_state st;
  crypto_generichash_init(
    &st, reinterpret_cast<const unsigned char*>(key.data()), key.size(), 16);
  for (const std::string* part : {&req.method, &req.target, &req.body}) {
    crypto_generichash_update(
      &st, reinterpret_cast<const unsigned char*>(part->data()), part->size());
    unsigned char sep = 0;
    crypto_generichash_update(&st, &sep, 1);
  }
  unsigned char out[16];
  crypto_generichash_final(&st, out, sizeof(out));
  char hex[2 * sizeof(out) + 1];
  sodium_bin2hex(hex, sizeof(hex), out, sizeof(out));
  return hex;
}

std::string encode_answer(const std::string& fp, int64_t at_us,
                          const http_response& resp) {
  json::array headers;
  for (const auto& h : resp.headers)
    headers.push_back(
      json::array{json::string_view{h.first}, json::string_view{h.second}});
  return json::serialize(json::object{{"fingerprint", fp},
                                      {"at_us", at_us},
                                      {"status", resp.status},
                                      {"content_type", resp.content_type},
                                      {"body", resp.body},
                                      {"headers", std::move(headers)}});
}

/// A kept answer, if `raw` is one.
struct kept_answer {
  std::string fingerprint;
  int64_t at_us = 0;
  http_response response;
};

std::optional<kept_answer> decode_answer(const std::string& raw) {
  boost::system::error_code ec;
  auto doc = json::parse(raw, ec);
  if (ec || !doc.is_object())
    return std::nullopt;
  try {
    const auto& o = doc.as_object();
    kept_answer out;
    out.fingerprint = json::value_to<std::string>(o.at("fingerprint"));
    out.at_us = o.at("at_us").to_number<int64_t>();
    out.response.status = o.at("status").to_number<unsigned>();
    out.response.content_type
      = json::value_to<std::string>(o.at("content_type"));
    out.response.body = json::value_to<std::string>(o.at("body"));
    for (const auto& h : o.at("headers").as_array())
      out.response.headers.push_back(
        {json::value_to<std::string>(h.as_array().at(0)),
         json::value_to<std::string>(h.as_array().at(1))});
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// Drops kept answers older than the retention as of its creation time.
class expired_answers_filter : public rocksdb::CompactionFilter {
public:
  explicit expired_answers_filter(int64_t oldest_kept_us)
    : oldest_kept_us_(oldest_kept_us) {}

  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value,
              std::string*, bool*) const override {
    auto kept = decode_answer(value.ToString());
    return kept && kept->at_us < oldest_kept_us_;
  }

  const char* Name() const override {
    return "billow.expired_idempotency_answers";
  }

private:
  int64_t oldest_kept_us_;
};

class expired_answers_factory : public rocksdb::CompactionFilterFactory {
public:
  expired_answers_factory(std::function<int64_t()> now_us, int64_t retention_us)
    : now_us_(std::move(now_us)), retention_us_(retention_us) {}

  std::unique_ptr<rocksdb::CompactionFilter>
  CreateCompactionFilter(const rocksdb::CompactionFilter::Context&) override {
    return std::make_unique<expired_answers_filter>(now_us_() - retention_us_);
  }

  const char* Name() const override {
    return "billow.expired_idempotency_answers";
  }

private:
  std::function<int64_t()> now_us_;
  int64_t retention_us_;
};

int64_t to_us(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::microseconds>(s).count();
}

} // namespace

std::shared_ptr<rocksdb::CompactionFilterFactory>
make_expired_answers_filter(std::function<int64_t()> now_us,
                            std::chrono::seconds retention) {
  return std::make_shared<expired_answers_factory>(std::move(now_us),
                                                   to_us(retention));
}

/// Marks (caller, key) as running until the last copy of the handler's
/// context is gone: after its answer, or when it dropped the request.
struct idempotency_store::in_flight_guard {
  idempotency_store* store;
  std::string key;
  uint64_t ticket;

  ~in_flight_guard() {
    store->release(key, ticket);
  }
};

void idempotency_store::release(const std::string& key, uint64_t ticket) {
  std::lock_guard<std::mutex> lock{mtx_};
  if (auto i = in_flight_.find(key);
      i != in_flight_.end() && i->second == ticket)
    in_flight_.erase(i);
}

idempotency_store::idempotency_store(rocksdb::DB& db,
                                     rocksdb::ColumnFamilyHandle* cf,
                                     std::function<int64_t()> now_us,
                                     std::string fingerprint_key,
                                     std::chrono::seconds retention)
  : db_(db), cf_(cf), now_us_(std::move(now_us)),
    fingerprint_key_(std::move(fingerprint_key)),
    retention_us_(to_us(retention)) {}

void idempotency_store::run(const request_context& ctx,
                            const route_handler& inner) {
  const auto& req = ctx.request();
  auto header = req.header("Idempotency-Key");
  if (req.method != "POST" || !header || header->empty() || !ctx.caller) {
    inner(ctx);
    return;
  }
  if (header->size() > max_idempotency_key_bytes) {
    ctx.reply(
      problem_response(400,
                       fmt::format("Idempotency-Key is longer than {} bytes.",
                                   max_idempotency_key_bytes)));
    return;
  }
  auto key = fmt::format("{}\n{}", ctx.caller->actor(), *header);
  auto fp = fingerprint(req, fingerprint_key_);
  auto now = now_us_();
  uint64_t ticket = 0;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    if (in_flight_.contains(key)) {
      ctx.reply(problem_response(409,
                                 "A request with this Idempotency-Key is "
                                 "still being processed; retry later."));
      return;
    }
    std::string raw;
    auto st = db_.Get(rocksdb::ReadOptions{}, cf_, key, &raw);
    if (st.ok()) {
      auto kept = decode_answer(raw);
      if (kept && now - kept->at_us <= retention_us_) {
        if (kept->fingerprint != fp) {
          ctx.reply(problem_response(
            422,
            "This Idempotency-Key was used for another request (method, "
            "path or body differ); use a new key."));
          return;
        }
        auto resp = std::move(kept->response);
        resp.headers.emplace_back("Idempotent-Replayed", "true");
        ctx.reply(std::move(resp));
        return;
      }
    } else if (!st.IsNotFound()) {
      spdlog::warn("idempotency: reading a kept answer failed: {}",
                   st.ToString());
    }
    ticket = ++next_ticket_;
    in_flight_[key] = ticket;
  }
  auto guard
    = std::make_shared<in_flight_guard>(in_flight_guard{this, key, ticket});
  auto kept_ctx = ctx;
  kept_ctx.before_reply = [this, guard, fp, now](const http_response& resp) {
    if (resp.status < 500 && !resp.on_stream) {
      // The answer is a cache beside the log: written without waiting for
      // the disk (the events it reports are durable already).
      if (write_) {
        rocksdb::WriteBatch batch;
        batch.Put(cf_, guard->key, encode_answer(fp, now, resp));
        if (auto err = write_(batch))
          spdlog::warn("idempotency: keeping an answer failed: {}",
                       caf::to_string(err));
      } else if (auto st = db_.Put(rocksdb::WriteOptions{}, cf_, guard->key,
                                   encode_answer(fp, now, resp));
                 !st.ok()) {
        spdlog::warn("idempotency: keeping an answer failed: {}",
                     st.ToString());
      }
    }
    release(guard->key, guard->ticket);
  };
  inner(kept_ctx);
}

} // namespace billow::api
