#pragma once
// A fixture for the detail_check test: a module's private header.
