/**
 * The one random-access reader of the project: the zip checker reads through it, and whatever holds
 * the bytes (memory, a file, a blob in storage) adapts to it. One read-ahead window (windowedReader)
 * sits on top; adapters fetch exactly what is asked.
 */

export interface RandomAccessReader {
  readonly size: number;
  /** Bytes [offset, offset+length); fewer only where the data ends. The array may be a view: copy to keep it past the next read. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function readerFromBytes(bytes: Uint8Array): RandomAccessReader {
  return {
    size: bytes.length,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/**
 * Serves small reads from one read-ahead window. Module zips are mostly small
 * files stored back to back, so thousands of entries cost a handful of range
 * reads instead of one (or three) each; large reads bypass the window.
 */
export function windowedReader(r: RandomAccessReader, windowSize: number): RandomAccessReader {
  let win: Uint8Array = new Uint8Array(0);
  let winStart = 0;
  return {
    size: r.size,
    async read(offset, length) {
      if (offset >= winStart && offset + length <= winStart + win.length) {
        return win.subarray(offset - winStart, offset - winStart + length);
      }
      if (length >= windowSize || offset + length > r.size) return r.read(offset, length);
      win = await r.read(offset, Math.min(windowSize, r.size - offset));
      winStart = offset;
      return win.subarray(0, length);
    },
  };
}
