import { register } from "@shopify/web-pixels-extension";
import { createPixel } from "./pixel";

// Shopify runs this in the strict pixel sandbox (a web worker) on checkout pages; see ./pixel.ts for what it does.
register((api) => createPixel(api));
