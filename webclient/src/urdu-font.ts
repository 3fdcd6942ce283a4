// Only the Arabic-script subset of Noto Nastaliq Urdu; this module is loaded only for Urdu.
import "@fontsource/noto-nastaliq-urdu/arabic-400.css";
import "@fontsource/noto-nastaliq-urdu/arabic-700.css";
