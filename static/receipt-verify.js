/* Checks a donation's ledger entry in the browser, trusting nothing but the maths.
 *
 * For each entry on the receipt it fetches the proof JSON, then: hashes the exact leaf input
 * bytes (RFC 9162 leaf hash = SHA-256(0x00 || input)); walks the inclusion proof to a root
 * (RFC 9162 §2.1.3.2); compares that root with the one written in the signed checkpoint note;
 * checks the leaf's donor_commitment against SHA-256 of the donor secret shown on the page;
 * and, where the browser supports Ed25519 in WebCrypto, checks the checkpoint's signature.
 * The outcome is announced in the entry's aria-live region. No inline script: CSP forbids it.
 */
(function () {
  "use strict";

  var subtle = window.crypto && window.crypto.subtle;

  function bytesFromBase64(text) {
    var raw = atob(text);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function bytesFromHex(hex) {
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function concat() {
    var total = 0, i;
    for (i = 0; i < arguments.length; i++) total += arguments[i].length;
    var out = new Uint8Array(total), offset = 0;
    for (i = 0; i < arguments.length; i++) {
      out.set(arguments[i], offset);
      offset += arguments[i].length;
    }
    return out;
  }

  function sha256(bytes) {
    return subtle.digest("SHA-256", bytes).then(function (digest) {
      return new Uint8Array(digest);
    });
  }

  function leafHash(input) {
    return sha256(concat(new Uint8Array([0]), input));
  }

  function nodeHash(left, right) {
    return sha256(concat(new Uint8Array([1]), left, right));
  }

  // RFC 9162 §2.1.3.2: verify an inclusion proof, returning the computed root (or null).
  async function rootFromProof(index, size, hash, proof) {
    if (index >= size) return null;
    var fn = index, sn = size - 1, r = hash;
    for (var i = 0; i < proof.length; i++) {
      var p = proof[i];
      if (sn === 0) return null;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) {
            fn = Math.floor(fn / 2);
            sn = Math.floor(sn / 2);
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  // A C2SP checkpoint: origin, size and base64 root hash lines, a blank line, signatures.
  function parseCheckpoint(note) {
    var split = note.indexOf("\n\n");
    if (split < 0) return null;
    var body = note.slice(0, split + 1);
    var lines = body.slice(0, -1).split("\n");
    if (lines.length < 3 || !/^[0-9]+$/.test(lines[1])) return null;
    var signatures = note.slice(split + 2).split("\n").filter(function (line) {
      return line.indexOf("\u2014 ") === 0;
    });
    return { body: body, origin: lines[0], size: parseInt(lines[1], 10), root: bytesFromBase64(lines[2]), signatures: signatures };
  }

  // Ed25519 check of the note's signature by the published key, where WebCrypto has it.
  async function checkSignature(checkpoint, vkey) {
    // <name>+<hex key id>+<base64(0x01 || key)>; base64 may itself contain "+".
    var parts = vkey.split("+");
    if (parts.length < 3) return false;
    parts = [parts[0], parts[1], parts.slice(2).join("+")];
    var keyBytes = bytesFromBase64(parts[2]).slice(1);
    var key;
    try {
      key = await subtle.importKey("raw", keyBytes, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      return null;
    }
    for (var i = 0; i < checkpoint.signatures.length; i++) {
      var fields = checkpoint.signatures[i].slice(2).split(" ");
      if (fields[0] !== parts[0]) continue;
      var blob = bytesFromBase64(fields[1]);
      if (hex(blob.slice(0, 4)) !== parts[1]) continue;
      var message = new TextEncoder().encode(checkpoint.body);
      return subtle.verify({ name: "Ed25519" }, key, blob.slice(4), message);
    }
    return false;
  }

  function equal(a, b) {
    return a && b && a.length === b.length && hex(a) === hex(b);
  }

  function say(region, text, ok) {
    region.textContent = text;
    region.className = "verify-result " + (ok ? "verify-ok" : "verify-bad");
  }

  async function verify(item, messages) {
    var region = item.querySelector(".verify-result");
    region.className = "verify-result";
    region.textContent = messages.checking;
    var data;
    try {
      var response = await fetch(item.getAttribute("data-proof-url"), { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      data = await response.json();
    } catch (e) {
      say(region, messages.error, false);
      return;
    }
    var input = bytesFromBase64(data.leaf_input_b64);
    var leaf = JSON.parse(new TextDecoder().decode(input));
    var checkpoint = parseCheckpoint(data.checkpoint);
    var hash = await leafHash(input);
    var root = checkpoint && checkpoint.size === data.tree_size
      ? await rootFromProof(leaf.seq, checkpoint.size, hash, data.inclusion_proof.map(bytesFromHex))
      : null;
    if (!root || !equal(root, checkpoint.root)) {
      say(region, messages.fail, false);
      return;
    }
    var lines = [messages.ok.replace("{seq}", leaf.seq).replace("{size}", checkpoint.size)];
    var secret = document.getElementById("donor-secret");
    if (secret) {
      var commitment = hex(await sha256(new TextEncoder().encode(secret.textContent.trim())));
      var mine = commitment === leaf.donor_commitment;
      lines.push(mine ? messages.commitmentOk : messages.commitmentBad);
      if (!mine) {
        say(region, lines.join(" "), false);
        return;
      }
    }
    var signature = await checkSignature(checkpoint, data.vkey);
    if (signature === false) {
      say(region, lines.concat([messages.signatureBad]).join(" "), false);
      return;
    }
    lines.push(signature ? messages.signatureOk : messages.signatureSkipped);
    say(region, lines.join(" "), true);
  }

  function start() {
    var holder = document.getElementById("verify-messages");
    if (!holder || !subtle) return;
    var messages = {
      checking: holder.dataset.checking,
      ok: holder.dataset.ok,
      fail: holder.dataset.fail,
      error: holder.dataset.error,
      commitmentOk: holder.dataset.commitmentOk,
      commitmentBad: holder.dataset.commitmentBad,
      signatureOk: holder.dataset.signatureOk,
      signatureBad: holder.dataset.signatureBad,
      signatureSkipped: holder.dataset.signatureSkipped
    };
    document.querySelectorAll("[data-proof-url]").forEach(function (item) {
      var button = item.querySelector(".verify-button");
      if (button) {
        button.addEventListener("click", function () {
          verify(item, messages);
        });
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
