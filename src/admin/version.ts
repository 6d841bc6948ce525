/** The product's version, shown by `strict-supplementalgroups version`. */
export const VERSION = "0.1.0";
