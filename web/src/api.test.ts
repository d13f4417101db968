import { describe, expect, it } from "vitest";
import { withCsrf } from "./api";

describe("withCsrf", () => {
  it("adds the session's CSRF token to state-changing requests only", () => {
    const posted = withCsrf({ method: "POST", headers: { "content-type": "application/json" } }, "abc");
    const headers = new Headers(posted?.headers);
    expect(headers.get("x-csrf-token")).toBe("abc");
    expect(headers.get("content-type")).toBe("application/json");
    expect(new Headers(withCsrf({ method: "DELETE" }, "abc")?.headers).get("x-csrf-token")).toBe("abc");
    expect(withCsrf(undefined, "abc")).toBeUndefined();
    expect(withCsrf({ method: "GET" }, "abc")).toEqual({ method: "GET" });
    expect(withCsrf({ method: "POST" }, null)).toEqual({ method: "POST" });
  });
});
