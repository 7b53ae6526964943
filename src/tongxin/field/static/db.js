// IndexedDB for the field app: one database, two stores.
//
//   events  keyPath "id"   the queue: {id, seq, status, event, code, message, message_en,
//                          flag, enqueuedAt, answeredAt}; status is pending | sent |
//                          rejected | dismissed | resolved. Index "status_seq" on
//                          [status, seq].
//   kv      keyPath "key"  small settings: token, device seq counter, cached context, ...
//
// Everything the device must not lose lives here, never only in memory, so a reload or a
// closed tab in the middle of a queue loses nothing.

const DB_NAME = "tongxin-field";
const DB_VERSION = 1;
let opening = null;

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        const events = db.createObjectStore("events", { keyPath: "id" });
        events.createIndex("status_seq", ["status", "seq"]);
        events.createIndex("seq", "seq", { unique: true });
        db.createObjectStore("kv", { keyPath: "key" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

// Run `work(stores)` in one transaction; resolve with its result once the transaction has
// committed (so a caller never reports something saved that the browser then rolled back).
export async function transaction(names, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
    let result;
    Promise.resolve(work(stores, tx)).then((value) => { result = value; }, (err) => {
      tx.abort();
      reject(err);
    });
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

// Wrap one IDBRequest in a promise (inside a transaction that is still active).
export function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function kvGet(key, fallback = null) {
  const row = await transaction(["kv"], "readonly", ({ kv }) => request(kv.get(key)));
  return row === undefined ? fallback : row.value;
}

export async function kvSet(key, value) {
  await transaction(["kv"], "readwrite", ({ kv }) => request(kv.put({ key, value })));
}

export async function kvDelete(key) {
  await transaction(["kv"], "readwrite", ({ kv }) => request(kv.delete(key)));
}
