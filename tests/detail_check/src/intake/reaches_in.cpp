// A fixture for the detail_check test: intake reaching into the portal's detail/ must fail.
#include "portal/detail/shared.hpp"
