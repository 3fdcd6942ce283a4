// The library's Urdu font: Noto Nastaliq Urdu's Arabic-script subset, the regular weight only
// (bold text is drawn from it): half the bytes of the app's two weights on a weak link.
import "@fontsource/noto-nastaliq-urdu/arabic-400.css";
