// microai.Blob: a blob's bytes on the heap, written once, then sealed read-only.
#ifndef MICROAI_BLOB_H
#define MICROAI_BLOB_H

#include "py/obj.h"

extern const mp_obj_type_t microai_type_Blob;

/// A sealed Blob holding a copy of n bytes (16-byte aligned); raises MemoryError with
/// the size when the heap has no room.
mp_obj_t microai_blob_copy(const void *data, size_t n);

/// true when obj is a sealed Blob: its bytes can no longer change.
bool microai_blob_is_sealed(mp_obj_t obj);

#endif // MICROAI_BLOB_H
