import { describe, expect, it } from "vitest";
import { displayName, fullNameOf } from "./full-name";

describe("a buyer's name", () => {
  it("is family name first in Japanese, given name first in English and German", () => {
    expect(displayName("優希", "鈴木", "ja")).toBe("鈴木 優希");
    expect(displayName("Robin", "Ashby", "en")).toBe("Robin Ashby");
    expect(displayName("Lena", "Schmidt", "de")).toBe("Lena Schmidt");
  });

  it("is the given name alone when the family name is unknown, and nothing when neither is", () => {
    expect(displayName("Robin", null, "ja")).toBe("Robin");
    expect(displayName("Robin", "  ", "en")).toBe("Robin");
    expect(displayName(null, "Ashby", "en")).toBeNull();
    expect(displayName(" ", null, "de")).toBeNull();
  });

  it("for search, keeps the source's order", () => {
    expect(fullNameOf("Robin", "Ashby")).toBe("Robin Ashby");
    expect(fullNameOf(null, null)).toBeNull();
  });
});
