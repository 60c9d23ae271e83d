//! Many meli-stock processes at once.
