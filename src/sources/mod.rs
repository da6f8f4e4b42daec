//! Inputs. Each source type has a folder; today: [`file`].

pub mod file;
