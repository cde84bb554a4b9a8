// Shipped migrations are never edited: add a new numbered file instead.
// Clean Pixel Data: per pushed instance, how many regions were masked and their area in pixels
// (never the text that was read). Empty for instances whose pixels went unchanged.
export default `
ALTER TABLE instances ADD COLUMN masked_regions INTEGER;
ALTER TABLE instances ADD COLUMN masked_area INTEGER;
`;
