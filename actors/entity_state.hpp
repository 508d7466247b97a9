#pragma once

// The pure part of the client and product aggregates (actors/entity.hpp):
// their states, folded from their streams, and the decisions of their
// commands. The generic actor (actors/entity.cpp) takes from a state:
//
//   kind, actor_name            the stream prefix and the actor's name
//   apply, to_json, from_json   the fold and its snapshot (aggregate.hpp)
//   created                     whether the entity exists
//   view(id, version)           what `query` answers
//   decide(state, id, command)  the command's events or a typed error

#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "actors/aggregate.hpp"
#include "actors/entity.hpp"

namespace billow::actors {

/// A client as its stream says.
struct client_state {
  using view_type = client_view;
  static constexpr std::string_view kind = "client";
  static constexpr const char* actor_name = "billow.client";

  bool created = false;
  std::string currency;
  bool erased = false;

  static void apply(client_state& st, std::string_view type,
                    const boost::json::object& p);
  boost::json::object to_json() const;
  static client_state from_json(const boost::json::object& obj);
  client_view view(const events::uuid& id, uint64_t version) const;
};

/// A product as its stream says.
struct product_state {
  using view_type = product_view;
  static constexpr std::string_view kind = "product";
  static constexpr const char* actor_name = "billow.product";

  bool created = false;
  std::string name;
  /// `Product/<name>`, empty without a module.
  std::string module;
  boost::json::array prices;
  /// What module code gets as the product's data.
  boost::json::object product_data;

  static void apply(product_state& st, std::string_view type,
                    const boost::json::object& p);
  boost::json::object to_json() const;
  static product_state from_json(const boost::json::object& obj);
  product_view view(const events::uuid& id, uint64_t version) const;
};

/// create: `client.created` (schema 2; `currency` required); erase:
/// `client.erased` {reason}, nothing when erased already; `not_found`
/// before the client exists.
decision decide(const client_state& st, const events::uuid& id,
                const entity_command& cmd);

/// create: `product.created` (`name` required); erase: `invalid_argument`.
decision decide(const product_state& st, const events::uuid& id,
                const entity_command& cmd);

} // namespace billow::actors
