#pragma once
// Owning pointers for GMime's GObjects and GLib values: one unref per reference we hold.

#include <glib-object.h>

#include <memory>

namespace mail::mime::detail {

struct GObjectUnref {
  void operator()(void* object) const noexcept {
    if (object != nullptr) g_object_unref(object);
  }
};

// For objects returned with a reference we own (g_mime_*_new, ...). Objects GMime returns
// "transfer none" (getters) are never put in one of these.
template <class T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

}  // namespace mail::mime::detail
