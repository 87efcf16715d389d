// toml++'s implementation, compiled into warden once instead of linking the
// shared library (see STATIC_LIBS in the Makefile for why).
#define TOML_IMPLEMENTATION
#include "policy/toml.h"
