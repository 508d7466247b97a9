#include "api/product_routes.hpp"

#include <boost/json.hpp>

#include "api/prices.hpp"
#include "api/route_helpers.hpp"
#include "events/errc.hpp"
#include "modules/host/module_catalog.hpp"
#include "modules/sdk/product.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

/// What `POST /products` asks for, checked.
struct product_order {
  std::string name;
  std::string module_type;
  std::string module_name;
  json::object product_data;
  json::array prices;
};

/// `module: {type: "Product", name}` of the body, when it has one.
void parse_module(const json::object& body, field_checker& check,
                  product_order& out) {
  auto* m = body.if_contains("module");
  if (m == nullptr || m->is_null())
    return;
  if (!m->is_object())
    return check.fail("module", "must be an object {type, name}");
  out.module_type = string_field(m->as_object(), "type");
  out.module_name = string_field(m->as_object(), "name");
  if (out.module_type != "Product")
    check.fail("module.type", "must be Product");
  if (out.module_name.empty()
      || out.module_name.find_first_not_of(
           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        != std::string::npos)
    check.fail("module.name", "must be a module name (letters, digits, _ -)");
}

/// `prices: [...]` of the body, each checked by `parse_price`.
void parse_prices(const json::object& body, field_checker& check,
                  product_order& out) {
  auto* p = body.if_contains("prices");
  if (p == nullptr || p->is_null())
    return;
  if (!p->is_array())
    return check.fail("prices", "must be an array");
  size_t i = 0;
  for (const auto& price : p->as_array())
    if (auto good = parse_price(price, "prices[" + std::to_string(i++) + "]",
                                check))
      out.prices.push_back(std::move(*good));
}

/// Creates the product (its aggregate appends `product.created`) and answers
/// it. The product's id is its created event's: with an Idempotency-Key, a
/// retry names the same product and the aggregate answers the first create.
void send_product(const request_context& ctx, const admin_env& env,
                  const product_order& order, json::value module) {
  json::object p{{"name", order.name},
                 {"module", std::move(module)},
                 {"product_data", order.product_data},
                 {"prices", order.prices}};
  create_entity(ctx, env.be->products, event_id_for(ctx, "product"), p, false);
}

void create_product(const request_context& ctx, const admin_env& env) {
  json::object body;
  if (auto bad = parse_object_body(ctx.request(), body))
    return ctx.reply(std::move(*bad));
  field_checker check{body};
  check.only({"name", "module", "product_data", "prices"},
             {"hourly_billing", "termination_delay_hours", "taxable"});
  product_order order;
  order.name = check.required_string("name", 200);
  parse_module(body, check, order);
  if (auto* pd = body.if_contains("product_data"); pd && !pd->is_null()) {
    if (pd->is_object())
      order.product_data = pd->as_object();
    else
      check.fail("product_data", "must be an object");
  }
  parse_prices(body, check, order);
  if (!check.ok())
    return ctx.reply(check.problem());
  // The module checks and normalises its product data (seed's
  // saveProductData), off the actor threads.
  env.auth->run_blocking([ctx, env, order]() mutable {
    json::value module = nullptr;
    if (!order.module_name.empty()) {
      auto inst = env.be->catalog->active_instance(order.module_type,
                                                   order.module_name);
      auto* product = dynamic_cast<modules::sdk::product*>(inst.get());
      auto check = query_checker();
      if (product == nullptr) {
        check.fail("module.name",
                   "no active Product module named " + order.module_name);
        return ctx.reply(check.problem());
      }
      auto saved = product->save_product_data(order.product_data);
      if (!saved) {
        check.fail("product_data",
                   detail_of(saved.error()).empty() ? to_string(saved.error())
                                                    : detail_of(saved.error()));
        return ctx.reply(check.problem());
      }
      order.product_data = std::move(*saved);
      module = json::object{{"type", order.module_type},
                            {"name", order.module_name}};
    }
    send_product(ctx, env, order, std::move(module));
  });
}

void list_products(const request_context& ctx, const admin_env& env) {
  list_entities(ctx, env, "product");
}

void get_product(const request_context& ctx, const admin_env& env) {
  get_entity(ctx, env, "product");
}

} // namespace

void add_product_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        admin_backend backend) {
  add_admin_table(
    routes, auth, std::move(backend),
    {
      {"POST",
       "/api/v1/admin/products",
       create_product,
       {"Create a product on a Product module",
        "products.write",
        {},
        true,
        201}},
      {"GET",
       "/api/v1/admin/products",
       list_products,
       {"The products in order of creation", "products.read", list_query()}},
      {"GET",
       "/api/v1/admin/products/{id}",
       get_product,
       {"One product", "products.read", {"min_position"}}},
    });
}

} // namespace billow::api
