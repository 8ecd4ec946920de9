// Blobs frozen into the firmware's flash at build time (`make firmware MODEL=...`);
// the table is generated into the build folder as microai_frozen.c.
#ifndef MICROAI_FROZEN_H
#define MICROAI_FROZEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    const uint8_t *blob;
    size_t size;
} microai_frozen_t;

extern const microai_frozen_t microai_frozen_models[];
extern const size_t microai_frozen_count;

#endif // MICROAI_FROZEN_H
