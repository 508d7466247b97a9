#include "api/auth.hpp"

#include "api/idempotency.hpp"

#include <sys/stat.h>

#include <chrono>
#include <fstream>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "api/json_body.hpp"
#include "api/password_pool.hpp"
#include "api/problem.hpp"
#include "api/read_waits.hpp"
#include "events/errc.hpp"
#include "projections/admin_directory.hpp"
#include "projections/client_directory.hpp"

namespace billow::api {

namespace {

void ensure_sodium() {
  static const int init = sodium_init();
  (void)init;
}

std::string b64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::string> unb64(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                        out.size(), text.data(), text.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING)
      != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

std::string hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13)
      != 0)
    throw std::bad_alloc(); // libsodium fails only when out of memory
  return out;
}

bool verify_password(const std::string& hash, std::string_view password) {
  ensure_sodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(),
                                  password.size())
    == 0;
}

token_signer::token_signer(std::string key) : key_(std::move(key)) {
  ensure_sodium();
}

std::string token_signer::issue(const token_claims& claims) const {
  auto payload = claims.kind + "|" + claims.id + "|"
    + std::to_string(claims.expires_at);
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(payload.data()),
              payload.size(),
              reinterpret_cast<const unsigned char*>(key_.data()));
  return b64(payload) + "."
    + b64(std::string_view{reinterpret_cast<const char*>(mac), sizeof(mac)});
}

std::optional<token_claims> token_signer::verify(std::string_view token,
                                                 int64_t now) const {
  std::optional<token_claims> claims;
  {
    std::lock_guard guard{mtx_};
    if (auto i = checked_.find(token); i != checked_.end())
      claims = i->second;
  }
  if (!claims) {
    claims = check(token);
    if (!claims)
      return std::nullopt;
    std::lock_guard guard{mtx_};
    if (checked_.size() >= remembered_tokens)
      checked_.clear(); // rare: a new set of clients starts over
    checked_.emplace(std::string{token}, *claims);
  }
  if (claims->expires_at <= now)
    return std::nullopt;
  return claims;
}

std::optional<token_claims> token_signer::check(std::string_view token) const {
  auto dot = token.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto payload = unb64(token.substr(0, dot));
  auto mac = unb64(token.substr(dot + 1));
  if (!payload || !mac || mac->size() != crypto_auth_BYTES)
    return std::nullopt;
  if (crypto_auth_verify(
        reinterpret_cast<const unsigned char*>(mac->data()),
        reinterpret_cast<const unsigned char*>(payload->data()),
        payload->size(), reinterpret_cast<const unsigned char*>(key_.data()))
      != 0)
    return std::nullopt;
  auto first = payload->find('|');
  auto second = payload->rfind('|');
  if (first == std::string::npos || second == first)
    return std::nullopt;
  token_claims claims;
  claims.kind = payload->substr(0, first);
  claims.id = payload->substr(first + 1, second - first - 1);
  try {
    claims.expires_at = std::stoll(payload->substr(second + 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return claims;
}

namespace {

/// The claims of the request's bearer token, if it has a valid one.
std::optional<token_claims> bearer_claims(const auth_context& auth,
                                          const request_context& ctx) {
  auto header = ctx.request().header("Authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (header && header->size() > scheme.size()
      && header->substr(0, scheme.size()) == scheme)
    return auth.signer->verify(header->substr(scheme.size()), unix_now());
  return std::nullopt;
}

/// A login: who, and the hash the password must match.
struct login_account {
  std::string id;
  std::string password_hash;
};

using login_lookup
  = std::function<std::optional<login_account>(const std::string& email)>;

/// How long a login waits for the directory to apply an account created
/// just before.
constexpr auto login_wait = std::chrono::seconds(2);

/// `POST /api/v1/auth/<kind>/token`: checks the password and issues a token
/// of `kind`. An email `find` does not know may belong to an account
/// created just before: the login then waits (bounded, without a thread)
/// until `applied` has reached the log as it is now, and looks again.
void add_token_route(
  route_table& routes, const std::shared_ptr<const auth_context>& auth,
  const std::string& kind, login_lookup find,
  std::shared_ptr<const projections::position_gate> applied) {
  routes.add(
    "POST", "/api/v1/auth/" + kind + "/token",
    [auth, kind, find = std::move(find),
     applied = std::move(applied)](const request_context& ctx) {
      boost::json::object body;
      if (auto bad = parse_object_body(ctx.request(), body)) {
        ctx.reply(std::move(*bad));
        return;
      }
      field_checker check{body};
      check.only({"email", "password"}, {"totp"});
      auto email = check.required_string("email", 320);
      auto password = check.required_string("password", 1024);
      if (!check.ok()) {
        ctx.reply(check.problem());
        return;
      }
      // Argon2id costs ~100 ms: look up and verify on the password pool
      // and answer from there (exchanges may be answered from any thread).
      // An unknown email costs the same, so timing does not tell which
      // emails exist.
      auto verify = [auth, ctx, kind, find, email, password] {
        run_password_work(*auth, ctx, [auth, ctx, kind, find, email, password] {
          auto account = find(email);
          static const std::string dummy = hash_password("not a password");
          bool ok = verify_password(account ? account->password_hash : dummy,
                                    password)
            && account.has_value();
          if (!ok) {
            // For the operator's log (the client learns nothing more).
            spdlog::info("{} login refused: {}", kind,
                         account ? "wrong password for " + account->id
                                 : std::string{"unknown email"});
            ctx.reply(problem_response(401, "Wrong email or password."));
            return;
          }
          auto expires = unix_now() + auth->token_ttl.count();
          auto token = auth->signer->issue({kind, account->id, expires});
          boost::json::object out{
            {"token", token},
            {"expires_at", rfc3339(expires * 1'000'000)},
            {kind + "_id", account->id},
          };
          ctx.reply(json_response(200, boost::json::serialize(out)));
        });
      };
      if (applied && auth->waits && auth->log_head && !find(email))
        return auth->waits->when_reached(applied, auth->log_head(), login_wait,
                                         verify, verify);
      verify();
    },
    {kind == "admin" ? "Log in as an admin: a bearer token"
                     : "Log in as a client: a bearer token for the client area",
     {},
     {},
     true});
}

} // namespace

bool run_password_work(const auth_context& auth, const request_context& ctx,
                       std::function<void()> fn) {
  if (!auth.passwords) {
    auth.run_blocking(std::move(fn));
    return true;
  }
  auto admitted = auth.passwords->try_submit(ctx.request().remote,
                                             std::move(fn));
  if (admitted == password_pool::admission::queued)
    return true;
  bool mine = admitted == password_pool::admission::address_full;
  auto wait = auth.passwords->retry_after_seconds();
  spdlog::warn("password check refused ({} queued{}): {}",
               auth.passwords->load(), mine ? " from this address" : "",
               ctx.request().remote);
  auto resp = problem_response(
    mine ? 429 : 503,
    fmt::format("Too many password checks are waiting{}; retry in {} s.",
                mine ? " from your address" : "", wait),
    "/problems/overloaded");
  resp.headers.emplace_back("Retry-After", std::to_string(wait));
  ctx.reply(std::move(resp));
  return false;
}

route_handler require_admin(std::shared_ptr<const auth_context> auth,
                            std::string permission, route_handler inner) {
  return [auth = std::move(auth), permission = std::move(permission),
          inner = std::move(inner)](const request_context& ctx) {
    auto claims = bearer_claims(*auth, ctx);
    std::optional<projections::admin_account> admin;
    if (claims && claims->kind == "admin")
      admin = auth->admins->find_by_id(claims->id);
    if (!admin) {
      auto resp = problem_response(401,
                                   "A valid admin bearer token is required "
                                   "(POST /api/v1/auth/admin/token).");
      resp.headers.emplace_back("WWW-Authenticate", "Bearer");
      ctx.reply(std::move(resp));
      return;
    }
    if (!projections::group_grants(admin->group, permission)) {
      ctx.reply(problem_response(403,
                                 "This admin (group " + admin->group
                                   + ") lacks the permission " + permission
                                   + "."));
      return;
    }
    auto authed = ctx;
    authed.caller = principal{"admin", admin->id, admin->email, admin->group};
    if (auth->idempotency)
      auth->idempotency->run(authed, inner);
    else
      inner(authed);
  };
}

route_handler require_client(std::shared_ptr<const auth_context> auth,
                             route_handler inner) {
  return [auth = std::move(auth),
          inner = std::move(inner)](const request_context& ctx) {
    auto claims = bearer_claims(*auth, ctx);
    std::optional<projections::client_account> client;
    if (claims && claims->kind == "client" && auth->clients)
      client = auth->clients->find_by_id(claims->id);
    if (!client || client->password_hash.empty()) {
      auto resp = problem_response(401,
                                   "A valid client bearer token is required "
                                   "(POST /api/v1/auth/client/token).");
      resp.headers.emplace_back("WWW-Authenticate", "Bearer");
      ctx.reply(std::move(resp));
      return;
    }
    auto authed = ctx;
    authed.caller = principal{"client", client->id, client->email, {}};
    if (auth->idempotency)
      auth->idempotency->run(authed, inner);
    else
      inner(authed);
  };
}

void add_auth_routes(route_table& routes,
                     const std::shared_ptr<const auth_context>& auth) {
  add_token_route(
    routes, auth, "admin",
    [auth](const std::string& email) -> std::optional<login_account> {
      auto admin = auth->admins->find_by_email(email);
      if (!admin)
        return std::nullopt;
      return login_account{admin->id, admin->password_hash};
    },
    {auth->admins, &auth->admins->gate()});
  std::shared_ptr<const projections::position_gate> clients_applied;
  if (auth->clients)
    clients_applied = {auth->clients, &auth->clients->gate()};
  add_token_route(
    routes, auth, "client",
    [auth](const std::string& email) -> std::optional<login_account> {
      if (!auth->clients)
        return std::nullopt;
      auto client = auth->clients->find_login(email);
      if (!client)
        return std::nullopt;
      return login_account{client->id, client->password_hash};
    },
    std::move(clients_applied));
}

} // namespace billow::api
