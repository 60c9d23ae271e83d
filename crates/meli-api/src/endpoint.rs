//! Endpoint classes: the label every counter, limit and log line uses for a call.

use std::fmt;

/// The class of an ML call. Labels are shared with the simulator, so counters from both sides
/// can be compared key by key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// `POST /oauth/token`.
    OAuthToken,
    /// `GET /users/me`.
    UsersMe,
    /// `GET /users/{id}/items/search`.
    ItemsSearch,
    /// `GET /items?ids=` (multiget) and `GET /items/{id}`.
    Items,
    /// `GET /user-products/{id}/stock`.
    UserProductStock,
    /// `GET /inventories/{id}/stock/fulfillment`.
    FulfillmentStock,
}

impl Endpoint {
    /// Every endpoint class, in label order of the table in the interface agreement.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::OAuthToken,
        Endpoint::UsersMe,
        Endpoint::ItemsSearch,
        Endpoint::Items,
        Endpoint::UserProductStock,
        Endpoint::FulfillmentStock,
    ];

    /// The stable label used in counters and logs (`items_search`, `user_product_stock`, ..).
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::OAuthToken => "oauth_token",
            Endpoint::UsersMe => "users_me",
            Endpoint::ItemsSearch => "items_search",
            Endpoint::Items => "items",
            Endpoint::UserProductStock => "user_product_stock",
            Endpoint::FulfillmentStock => "fulfillment_stock",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
